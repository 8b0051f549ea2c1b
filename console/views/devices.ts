import type { Page } from '../api.ts';
import { accountName, type AuditEvent, type ConsoleContext } from '../context.ts';
import { field, formatTime, h, input, row, select, table } from '../dom.ts';
import { auditTable } from './audit.ts';
import { certificateTable, type Certificate } from './certificates.ts';
import { badge, filtersOf, form, needsAccount, pager, section, valueOf, withFilters } from './common.ts';

export interface Device {
  readonly id: string;
  readonly accountId: string;
  readonly clientId: string;
  readonly online: boolean;
  readonly category: string | null;
  readonly tags: string[];
  readonly model: string | null;
  readonly serial: string | null;
  readonly firmware: string | null;
  readonly certificateSerial: string | null;
  readonly certificateNotAfter: string | null;
  readonly configurationState: string | null;
  readonly configurationError: string | null;
  readonly bundles: { name: string; version: string }[];
  readonly provisionedOn: string | null;
  readonly lastBirthOn: string | null;
  readonly lastSeenOn: string | null;
}

interface DeviceDetail extends Device {
  readonly certificates: Certificate[];
  readonly audit: AuditEvent[];
  readonly jobs: { jobId: string; state: string; error: string | null; modifiedOn: string }[];
}

const filterNames = ['clientId', 'online', 'category', 'configurationInSync', 'offset'];

async function deviceDetail(context: ConsoleContext, id: string): Promise<HTMLElement> {
  const device = await context.api.get<DeviceDetail>(`/devices/${encodeURIComponent(id)}`);
  const fact = (label: string, value: string | Node) => [h('dt', {}, label), h('dd', {}, value)];
  return h(
    'div',
    {},
    h('p', {}, h('a', { href: '#/devices' }, '← All devices')),
    h('h1', {}, `Device ${device.clientId}`),
    section(
      'Facts',
      h(
        'dl',
        { class: 'facts' },
        ...fact('Account', accountName(context, device.accountId)),
        ...fact('Online', badge(device.online ? 'online' : 'offline')),
        ...fact('Category', device.category ?? '—'),
        ...fact('Tags', device.tags.join(', ') || '—'),
        ...fact('Model / serial / firmware', [device.model, device.serial, device.firmware].map((value) => value ?? '—').join(' / ')),
        ...fact('Configuration', device.configurationState ?? '—'),
        ...fact('Bundles', device.bundles.map((bundle) => `${bundle.name} ${bundle.version}`).join(', ') || '—'),
        ...fact('Certificate until', formatTime(device.certificateNotAfter)),
        ...fact('Provisioned', formatTime(device.provisionedOn)),
        ...fact('Last seen', formatTime(device.lastSeenOn)),
      ),
    ),
    section(
      'Certificates',
      certificateTable(
        context,
        device.certificates.map((certificate) => ({ clientId: device.clientId, ...certificate })),
      ),
    ),
    section(
      'Update jobs',
      table(
        ['Job', 'State', 'Error', 'Changed'],
        device.jobs.map((job) => row(h('code', {}, job.jobId), badge(job.state), job.error ?? '—', formatTime(job.modifiedOn))),
        'No update job.',
      ),
    ),
    section('Latest events', auditTable(context, device.audit)),
  );
}

/** The device registry: filters, the list, and one device's facts, certificates (revoke), jobs and events. */
export async function devicesView(context: ConsoleContext): Promise<HTMLElement> {
  if (context.path[0]) return deviceDetail(context, context.path[0]);
  const choose = needsAccount(context, 'Devices');
  if (choose) return choose;
  const filters = filtersOf(context, filterNames);
  const page = await context.api.get<Page<Device>>('/devices', {
    accountId: context.accountId,
    clientId: filters.clientId,
    online: filters.online,
    category: filters.category,
    configurationInSync: filters.configurationInSync,
    offset: filters.offset ?? 0,
    limit: 50,
  });
  const yesNo = (name: string, label: string) =>
    field(
      label,
      select(
        name,
        [
          ['', 'Any'],
          ['true', 'Yes'],
          ['false', 'No'],
        ],
        filters[name] ?? '',
      ),
    );
  const filterForm = form(
    'filters',
    (element) =>
      context.navigate(
        withFilters('devices', {
          clientId: valueOf(element, 'clientId'),
          online: valueOf(element, 'online'),
          category: valueOf(element, 'category'),
          configurationInSync: valueOf(element, 'configurationInSync'),
        }),
      ),
    field('Client id', input('clientId', { value: filters.clientId ?? '' })),
    yesNo('online', 'Online'),
    field('Category', input('category', { value: filters.category ?? '' })),
    yesNo('configurationInSync', 'Configuration in sync'),
    h('button', { type: 'submit' }, 'Filter'),
  );
  const rows = page.items.map((device) =>
    row(
      h('a', { href: `#/devices/${encodeURIComponent(device.id)}` }, device.clientId),
      accountName(context, device.accountId),
      badge(device.online ? 'online' : 'offline'),
      device.category ?? '—',
      device.configurationState ?? '—',
      formatTime(device.lastSeenOn),
    ),
  );
  return h(
    'div',
    {},
    h('h1', {}, 'Devices'),
    section(
      'Registry',
      filterForm,
      table(['Client id', 'Account', 'Online', 'Category', 'Configuration', 'Last seen'], rows, 'No device matches.'),
      pager(page, (offset) => context.navigate(withFilters('devices', { ...filters, offset: String(offset) }))),
    ),
  );
}
