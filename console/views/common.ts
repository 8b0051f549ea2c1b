import type { Page } from '../api.ts';
import type { ConsoleContext } from '../context.ts';
import { button, field, h, input, select } from '../dom.ts';

/**
 * The account a new record goes to: for the admin, a choice of every account (the one chosen in
 * the header first); for an account token, its own, fixed (a hidden field, nothing to choose).
 */
export function accountField(context: ConsoleContext): HTMLElement {
  if (!context.isAdmin) return input('accountId', { type: 'hidden', value: context.principal.accountId ?? '' });
  const chosen = context.accountId ?? context.accounts[0]?.id ?? '';
  return field(
    'Account',
    select(
      'accountId',
      context.accounts.map((account) => [account.id, account.name] as const),
      chosen,
    ),
  );
}

/** The value of a named field of a form, trimmed; '' when absent. */
export function valueOf(form: HTMLElement, name: string): string {
  const element = form.querySelector<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(`[name="${name}"]`);
  return element ? element.value.trim() : '';
}

export function checked(form: HTMLElement, name: string): boolean {
  return form.querySelector<HTMLInputElement>(`[name="${name}"]`)?.checked ?? false;
}

/** A datetime-local value as the ISO date-time the API wants; undefined when empty. */
export function isoOf(localValue: string): string | undefined {
  if (!localValue) return undefined;
  const date = new Date(localValue);
  return Number.isNaN(date.getTime()) ? localValue : date.toISOString();
}

/** "41–60 of 230" and buttons to page back and forth. */
export function pager(page: Page<unknown>, go: (offset: number) => void): HTMLElement {
  const first = page.total === 0 ? 0 : page.offset + 1;
  const last = page.offset + page.items.length;
  return h(
    'div',
    { class: 'pager' },
    h('span', {}, `${first}–${last} of ${page.total}`),
    button('Previous', () => go(Math.max(0, page.offset - page.limit)), { disabled: page.offset === 0 }),
    button('Next', () => go(page.offset + page.limit), { disabled: last >= page.total }),
  );
}

export function section(title: string, ...children: (Node | null)[]): HTMLElement {
  return h('section', { class: 'card' }, h('h2', {}, title), ...children);
}

/** A form whose submit runs `onSubmit` (no reload): Enter in a field submits, as everywhere. */
export function form(className: string, onSubmit: (form: HTMLFormElement) => void, ...children: (Node | null)[]): HTMLFormElement {
  const element = h('form', { class: className, novalidate: true }, ...children);
  element.addEventListener('submit', (event) => {
    event.preventDefault();
    onSubmit(element);
  });
  return element;
}

export function badge(text: string, kind = text.toLowerCase()): HTMLElement {
  return h('span', { class: `badge badge-${kind}` }, text);
}

/** The filters of a list view kept in the address (#/view?name=value), so Back and a reload of the view keep them. */
export function filtersOf(context: ConsoleContext, names: readonly string[]): Record<string, string> {
  const filters: Record<string, string> = {};
  for (const name of names) {
    const value = context.query.get(name);
    if (value) filters[name] = value;
  }
  return filters;
}

export function withFilters(view: string, filters: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) if (value) params.set(name, value);
  const text = params.toString();
  return `#/${view}${text ? `?${text}` : ''}`;
}

/** Lists the API keeps per account (devices, configurations, bundles, categories, jobs): the admin chooses one first. */
export function needsAccount(context: ConsoleContext, title: string): HTMLElement | null {
  if (!context.isAdmin || context.accountId !== null) return null;
  return h('div', {}, h('h1', {}, title), section('Choose an account', h('p', {}, 'This list is kept per account: choose one in the header.')));
}
