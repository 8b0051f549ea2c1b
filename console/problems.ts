import { ApiError } from './api.ts';
import { h } from './dom.ts';

/**
 * Shows what went wrong as the API said it: the problem's title and detail at the top of the
 * form (an alert, read out by screen readers), and each of its `errors[]` next to the field its
 * path names (body/clientId → the field named clientId; body/tags/2 → tags), marked invalid and described by it.
 */
export function showProblem(container: HTMLElement, error: unknown): void {
  clearProblem(container);
  const problem = error instanceof ApiError ? error.problem : { title: 'Something went wrong', status: 0, detail: String(error) };
  const unplaced: string[] = [];
  for (const fieldError of problem.errors ?? []) {
    const name = fieldError.path.replace(/^(body|query|path|header)\//, '');
    const target =
      container.querySelector<HTMLElement>(`[name="${CSS.escape(name)}"]`) ??
      container.querySelector<HTMLElement>(`[name="${CSS.escape(name.split('/')[0] ?? name)}"]`) ??
      container.querySelector<HTMLElement>(`[name="${CSS.escape(name.split('/').pop() ?? name)}"]`);
    if (!target) {
      unplaced.push(`${fieldError.path}: ${fieldError.message}`);
      continue;
    }
    const id = `${target.id || name}-error`;
    target.setAttribute('aria-invalid', 'true');
    target.setAttribute('aria-describedby', id);
    // Several findings on one field (rows of a CSV) are lines of one message, in their order.
    const shown = target.nextElementSibling;
    if (shown?.id === id) shown.append(h('br'), fieldError.message);
    else target.insertAdjacentElement('afterend', h('p', { class: 'field-error', id }, fieldError.message));
  }
  container.prepend(
    h(
      'div',
      { class: 'problem', role: 'alert' },
      h('strong', {}, problem.title),
      problem.detail ? h('span', {}, ` — ${problem.detail}`) : null,
      unplaced.length ? h('ul', {}, ...unplaced.map((text) => h('li', {}, text))) : null,
    ),
  );
}

export function clearProblem(container: HTMLElement): void {
  for (const element of container.querySelectorAll('.problem, .field-error')) element.remove();
  for (const element of container.querySelectorAll('[aria-invalid]')) {
    element.removeAttribute('aria-invalid');
    element.removeAttribute('aria-describedby');
  }
}

/**
 * Runs the action of a form: its buttons are disabled meanwhile, and a failure is shown in the
 * form (showProblem) instead of being thrown.
 */
export async function runForm(form: HTMLElement, action: () => Promise<void>): Promise<void> {
  const buttons = [...form.querySelectorAll('button')];
  for (const element of buttons) element.disabled = true;
  clearProblem(form);
  try {
    await action();
  } catch (error) {
    showProblem(form, error);
  } finally {
    for (const element of buttons) element.disabled = false;
  }
}
