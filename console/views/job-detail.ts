import type { Page } from '../api.ts';
import type { ConsoleContext } from '../context.ts';
import { field, formatTime, h, select, table } from '../dom.ts';
import { badge, filtersOf, form, pager, section, valueOf, withFilters } from './common.ts';
import type { UpdateJobDetail } from './jobs.ts';

interface JobDevice {
  readonly clientId: string;
  readonly state: string;
  readonly error: string | null;
  readonly modifiedOn: string;
}

const deviceStates = ['PENDING', 'SENT', 'DOWNLOADING', 'INSTALLED', 'FAILED'] as const;

/** One update job: what it targets and sends, its counts, and its devices (filtered by state), a FAILED one with the reason the device gave. */
export async function jobDetail(context: ConsoleContext, id: string): Promise<HTMLElement> {
  const path = `/update-jobs/${encodeURIComponent(id)}`;
  const filters = filtersOf(context, ['state', 'offset']);
  const [job, devices] = await Promise.all([
    context.api.get<UpdateJobDetail>(path),
    context.api.get<Page<JobDevice>>(`${path}/devices`, { state: filters.state, offset: filters.offset ?? 0, limit: 50 }),
  ]);
  const here = `jobs/${encodeURIComponent(id)}`;
  const fact = (label: string, value: string | Node) => [h('dt', {}, label), h('dd', {}, value)];
  const filterForm = form(
    'filters',
    (element) => context.navigate(withFilters(here, { state: valueOf(element, 'state') })),
    field('State', select('state', [['', 'Any'], ...deviceStates.map((state) => [state, state] as const)], filters.state ?? '')),
    h('button', { type: 'submit' }, 'Filter'),
  );
  return h(
    'div',
    {},
    h('p', {}, h('a', { href: '#/jobs' }, '← All update jobs')),
    h('h1', {}, `Update job ${job.name}`),
    section(
      'Facts',
      h(
        'dl',
        { class: 'facts' },
        ...fact('State', badge(job.state)),
        ...fact('Category', job.category ?? 'any'),
        ...fact('Tags', job.tags.join(', ') || 'any'),
        ...fact('Client ids', job.clientIds.join(', ') || 'any'),
        ...fact('Configuration', job.configurationId ? `${job.configurationId} v${job.configurationVersion ?? '?'}` : '—'),
        ...fact('Bundles', String(job.bundleIds.length)),
        ...fact('Failure threshold', job.failureThreshold === null ? 'none' : String(job.failureThreshold)),
        ...fact('Devices', deviceStates.map((state) => `${job.counts[state]} ${state.toLowerCase()}`).join(', ') + ` (of ${job.matchingDevices} matching)`),
        ...fact('Created', `${formatTime(job.createdOn)} by ${job.createdBy}`),
      ),
    ),
    section(
      'Devices',
      filterForm,
      table(
        ['Client id', 'State', 'Why it failed', 'Changed'],
        devices.items.map((device) =>
          h(
            'tr',
            { 'data-client-id': device.clientId },
            ...[device.clientId, badge(device.state), device.error ?? '—', formatTime(device.modifiedOn)].map((cell) => h('td', {}, cell)),
          ),
        ),
        'No device of this job in this state.',
      ),
      pager(devices, (offset) => context.navigate(withFilters(here, { ...filters, offset: String(offset) }))),
    ),
  );
}
