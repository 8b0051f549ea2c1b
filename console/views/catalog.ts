import { ApiError, type Page } from '../api.ts';
import type { ConsoleContext } from '../context.ts';
import { field, formatTime, h, input, row, select, table } from '../dom.ts';
import { runForm } from '../problems.ts';
import { form, needsAccount, section, valueOf } from './common.ts';
import { configurationDetail, jsonObjectOf } from './configuration-detail.ts';

export interface Configuration {
  readonly id: string;
  readonly name: string;
  readonly version: number;
  readonly modifiedOn: string;
}

export interface Bundle {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly size: number;
  readonly sha256: string;
  readonly createdOn: string;
}

export interface Category {
  readonly id: string;
  readonly name: string;
  readonly configurationId: string | null;
  readonly bundleIds: string[];
  readonly version: number;
}

/** The account's bundles as checkboxes named bundleIds (a category's, a job's). */
export function bundleChoices(bundles: readonly Bundle[], chosen: readonly string[] = []): HTMLElement {
  if (bundles.length === 0) return h('p', { class: 'hint' }, 'No bundle uploaded yet.');
  return h(
    'fieldset',
    { class: 'choices' },
    h('legend', {}, 'Bundles'),
    ...bundles.map((bundle) =>
      h('label', {}, input('bundleIds', { type: 'checkbox', value: bundle.id, checked: chosen.includes(bundle.id) }), ` ${bundle.name} ${bundle.version}`),
    ),
  );
}

export function chosenBundles(element: HTMLElement): string[] {
  return [...element.querySelectorAll<HTMLInputElement>('input[name="bundleIds"]:checked')].map((box) => box.value);
}

export function configurationSelect(configurations: readonly Configuration[], chosen: string | null): HTMLElement {
  return field(
    'Configuration',
    select(
      'configurationId',
      [['', 'None'], ...configurations.map((configuration) => [configuration.id, `${configuration.name} (v${configuration.version})`] as const)],
      chosen ?? '',
    ),
  );
}

/**
 * What devices are given: configurations (create from JSON; edit one and read its versions on its
 * page, configuration-detail.ts), application bundles (upload), and
 * categories, which attach a configuration and bundles to every device of the category.
 */
export async function catalogView(context: ConsoleContext): Promise<HTMLElement> {
  if (context.path[0] === 'configurations' && context.path[1]) return configurationDetail(context, context.path[1]);
  const choose = needsAccount(context, 'Configurations & bundles');
  if (choose) return choose;
  const accountId = context.accountId ?? context.principal.accountId ?? undefined;
  const [configurations, bundles, categories] = await Promise.all([
    context.api.get<Page<Configuration>>('/configurations', { accountId, limit: 1000 }),
    context.api.get<Page<Bundle>>('/bundles', { accountId, limit: 1000 }),
    context.api.get<Page<Category>>('/categories', { accountId, limit: 1000 }),
  ]);
  const reload = () => context.navigate(location.hash);
  const content = h('textarea', { name: 'content', rows: 5, spellcheck: 'false', placeholder: '{ "telemetry": { "interval": 60 } }' });
  const configurationForm = form(
    'stacked-form',
    (element) =>
      void runForm(element, async () => {
        const parsed = jsonObjectOf(content.value, 'body/content');
        await context.api.call('POST', '/configurations', { accountId, name: valueOf(element, 'name'), content: parsed });
        reload();
      }),
    field('Name', input('name', { required: true })),
    field('Content (JSON object)', content),
    h('button', { type: 'submit', class: 'primary' }, 'Create configuration'),
  );
  const file = h('input', { type: 'file', name: 'file', required: true });
  const bundleForm = form(
    'inline-form',
    (element) =>
      void runForm(element, async () => {
        const chosen = file.files?.[0];
        if (!chosen) throw new ApiError({ title: 'No file chosen', status: 400, errors: [{ path: 'body/file', message: 'choose the bundle file' }] });
        await context.api.upload(
          '/bundles',
          { accountId, name: valueOf(element, 'name'), version: valueOf(element, 'version') },
          chosen,
          'application/octet-stream',
        );
        reload();
      }),
    field('Name', input('name', { required: true, placeholder: 'telemetry-app' })),
    field('Version', input('version', { required: true, placeholder: '1.0.0' })),
    field('File', file),
    h('button', { type: 'submit', class: 'primary' }, 'Upload bundle'),
  );
  const categoryForm = form(
    'stacked-form',
    (element) =>
      void runForm(element, async () => {
        const configurationId = valueOf(element, 'configurationId') || null;
        const existing = categories.items.find((category) => category.name === valueOf(element, 'name'));
        if (existing) {
          await context.api.call('PATCH', `/categories/${encodeURIComponent(existing.id)}`, {
            version: existing.version,
            configurationId,
            bundleIds: chosenBundles(element),
          });
        } else {
          await context.api.call('POST', '/categories', { accountId, name: valueOf(element, 'name'), configurationId, bundleIds: chosenBundles(element) });
        }
        reload();
      }),
    field('Category', input('name', { required: true, list: 'category-names', placeholder: 'phones' }), 'An existing name changes that category.'),
    h('datalist', { id: 'category-names' }, ...categories.items.map((category) => h('option', { value: category.name }))),
    configurationSelect(configurations.items, null),
    bundleChoices(bundles.items),
    h('button', { type: 'submit', class: 'primary' }, 'Attach to category'),
  );
  const configurationName = (id: string | null) => configurations.items.find((configuration) => configuration.id === id)?.name ?? (id ? id : '—');
  const bundleName = (id: string) => {
    const bundle = bundles.items.find((candidate) => candidate.id === id);
    return bundle ? `${bundle.name} ${bundle.version}` : id;
  };
  return h(
    'div',
    {},
    h('h1', {}, 'Configurations & bundles'),
    section(
      'Categories',
      table(
        ['Category', 'Configuration', 'Bundles'],
        categories.items.map((category) =>
          row(h('strong', {}, category.name), configurationName(category.configurationId), category.bundleIds.map(bundleName).join(', ') || '—'),
        ),
        'No category yet.',
      ),
      h('h3', {}, 'Attach a configuration and bundles'),
      categoryForm,
    ),
    section(
      'Configurations',
      table(
        ['Name', 'Version', 'Changed', 'Id'],
        configurations.items.map((configuration) =>
          row(
            h('a', { href: `#/catalog/configurations/${encodeURIComponent(configuration.id)}` }, configuration.name),
            `v${configuration.version}`,
            formatTime(configuration.modifiedOn),
            h('code', {}, configuration.id),
          ),
        ),
        'No configuration yet.',
      ),
      h('h3', {}, 'New configuration'),
      configurationForm,
    ),
    section(
      'Bundles',
      table(
        ['Name', 'Version', 'Size', 'SHA-256', 'Uploaded'],
        bundles.items.map((bundle) =>
          row(h('strong', {}, bundle.name), bundle.version, `${bundle.size} B`, h('code', {}, bundle.sha256.slice(0, 16) + '…'), formatTime(bundle.createdOn)),
        ),
        'No bundle yet.',
      ),
      h('h3', {}, 'Upload a bundle'),
      bundleForm,
    ),
  );
}
