import type { Page } from '../api.ts';
import type { ConsoleContext } from '../context.ts';
import { field, h, input } from '../dom.ts';
import type { Category } from './catalog.ts';

/**
 * A category field (name `category`, optional) that offers the categories of the account chosen in
 * the form it is put in (its `accountId` field), read again when that choice changes. A name typed that the
 * account lacks is still sent: the API names it next to the field.
 */
export function categoryChoice(context: ConsoleContext, label = 'Category (optional)'): HTMLElement {
  const listId = `categories-${Math.random().toString(36).slice(2, 8)}`;
  const names = h('datalist', { id: listId });
  const wrapper = field(label, input('category', { list: listId, placeholder: 'none' }));
  wrapper.append(names);
  const fill = async (form: HTMLElement) => {
    const accountId = form.querySelector<HTMLInputElement | HTMLSelectElement>('[name="accountId"]')?.value;
    if (!accountId) return names.replaceChildren();
    const categories = await context.api.get<Page<Category>>('/categories', { accountId, limit: 1000 }).catch(() => null);
    names.replaceChildren(...(categories?.items ?? []).map((category) => h('option', { value: category.name })));
  };
  // The form is whole once the caller's expression is done: find it then, and follow its account field.
  queueMicrotask(() => {
    const form = wrapper.closest('form');
    if (!form) return;
    form.addEventListener('change', (event) => {
      if ((event.target as HTMLElement | null)?.getAttribute('name') === 'accountId') void fill(form);
    });
    void fill(form);
  });
  return wrapper;
}
