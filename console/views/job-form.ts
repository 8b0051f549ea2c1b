import type { ConsoleContext } from '../context.ts';
import { field, h, input, select } from '../dom.ts';
import { runForm } from '../problems.ts';
import { bundleChoices, chosenBundles, configurationSelect, type Bundle, type Category, type Configuration } from './catalog.ts';
import { form, valueOf } from './common.ts';

/** A list typed by hand: items separated by commas, spaces or new lines, empty ones dropped. */
export function listOf(text: string): string[] {
  return text.split(/[\s,]+/).filter((item) => item !== '');
}

/**
 * A new update job of the chosen account: its target (a category, tags, client ids: each narrows
 * it; none is every device of the account), what it sends (bundles and/or a configuration's current
 * version) and after how many failed devices it stops. The API's findings are shown next to the
 * fields they name.
 */
export async function jobForm(context: ConsoleContext, accountId: string, onCreated: (jobId: string) => void): Promise<HTMLFormElement> {
  const query = { accountId, limit: 1000 };
  const [categories, bundles, configurations] = await Promise.all([
    context.api.get<{ items: Category[] }>('/categories', query),
    context.api.get<{ items: Bundle[] }>('/bundles', query),
    context.api.get<{ items: Configuration[] }>('/configurations', query),
  ]);
  return form(
    'stacked-form',
    (element) =>
      void runForm(element, async () => {
        const category = valueOf(element, 'category');
        const configurationId = valueOf(element, 'configurationId');
        const failureThreshold = valueOf(element, 'failureThreshold');
        const job = await context.api.call<{ id: string }>('POST', '/update-jobs', {
          accountId,
          name: valueOf(element, 'name'),
          ...(category ? { category } : {}),
          tags: listOf(valueOf(element, 'tags')),
          clientIds: listOf(valueOf(element, 'clientIds')),
          bundleIds: chosenBundles(element),
          ...(configurationId ? { configurationId } : {}),
          ...(failureThreshold ? { failureThreshold: Number(failureThreshold) } : {}),
        });
        onCreated(job.id);
      }),
    field('Job name', input('name', { required: true, placeholder: 'telemetry 1.1 for phones' })),
    field('Category', select('category', [['', 'Any category'], ...categories.items.map((category) => [category.name, category.name] as const)])),
    field('Tags (optional)', input('tags', { placeholder: 'lab, eu' }), 'Devices carrying every one of these tags.'),
    field('Client ids (optional)', h('textarea', { name: 'clientIds', rows: 2, spellcheck: 'false' }), 'Only these devices; separated by commas or new lines.'),
    bundleChoices(bundles.items),
    configurationSelect(configurations.items, null),
    field('Failure threshold (optional)', input('failureThreshold', { type: 'number', min: 1 }), 'The job stops once this many devices failed.'),
    h('button', { type: 'submit', class: 'primary' }, 'Create update job'),
  );
}
