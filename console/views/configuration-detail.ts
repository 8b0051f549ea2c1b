import { ApiError, type Page } from '../api.ts';
import type { ConsoleContext } from '../context.ts';
import { field, formatTime, h } from '../dom.ts';
import { runForm } from '../problems.ts';
import { form, section } from './common.ts';

interface ConfigurationWithContent {
  readonly id: string;
  readonly name: string;
  readonly version: number;
  readonly content: Record<string, unknown>;
  readonly modifiedOn: string;
}

interface ConfigurationVersion {
  readonly version: number;
  readonly content: Record<string, unknown>;
  readonly createdOn: string;
  readonly createdBy: string;
}

/**
 * The content of a textarea as a JSON object, or a problem naming `path` (shown next to the
 * field) before anything is sent: the API would refuse it too, but only after a round trip.
 */
export function jsonObjectOf(text: string, path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text || '{}');
  } catch (error) {
    throw new ApiError({ title: 'The content is not JSON', status: 400, errors: [{ path, message: (error as Error).message }] });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ApiError({ title: 'The content is not a JSON object', status: 400, errors: [{ path, message: 'must be a JSON object: { … }' }] });
  }
  return parsed as Record<string, unknown>;
}

/**
 * One configuration: edit its content (PATCH with the version it was read at, so an edit made
 * meanwhile is a 409 VERSION_CONFLICT rather than lost), and its versions, the newest first, each
 * content viewable. A new version goes at once to the online devices that hold the configuration.
 */
export async function configurationDetail(context: ConsoleContext, id: string): Promise<HTMLElement> {
  const path = `/configurations/${encodeURIComponent(id)}`;
  const [configuration, versions] = await Promise.all([
    context.api.get<ConfigurationWithContent>(path),
    context.api.get<Page<ConfigurationVersion>>(`${path}/versions`, { limit: 50 }),
  ]);
  const content = h('textarea', { name: 'content', rows: 10, spellcheck: 'false' });
  content.value = JSON.stringify(configuration.content, null, 2);
  const editForm = form(
    'stacked-form',
    (element) =>
      void runForm(element, async () => {
        const edited = jsonObjectOf(content.value, 'body/content');
        await context.api.call('PATCH', path, { version: configuration.version, content: edited });
        context.navigate(location.hash);
      }),
    field('Content (JSON object)', content),
    h(
      'p',
      { class: 'hint' },
      `Saving makes version ${configuration.version + 1} and sends it at once to the online devices that hold this configuration (by their request, their category or an update job); the others get it at their next connection.`,
    ),
    h('button', { type: 'submit', class: 'primary' }, 'Save as a new version'),
  );
  return h(
    'div',
    {},
    h('p', {}, h('a', { href: '#/catalog' }, '← Configurations & bundles')),
    h('h1', {}, `Configuration ${configuration.name}`),
    h('p', { class: 'current-version' }, `Version ${configuration.version}, made ${formatTime(configuration.modifiedOn)}`),
    section('Edit', editForm),
    section(
      'Versions',
      h(
        'ul',
        { class: 'versions' },
        ...versions.items.map((version) =>
          h(
            'li',
            { 'data-version': version.version },
            h(
              'details',
              {},
              h('summary', {}, `Version ${version.version} — ${formatTime(version.createdOn)} by ${version.createdBy}`),
              h('pre', {}, JSON.stringify(version.content, null, 2)),
            ),
          ),
        ),
      ),
      versions.total > versions.items.length ? h('p', { class: 'hint' }, `The ${versions.items.length} newest of ${versions.total}.`) : null,
    ),
  );
}
