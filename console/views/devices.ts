import type { Page } from '../api.ts';
import { accountName, type ConsoleContext } from '../context.ts';
import { field, formatTime, h, input, row, select, table } from '../dom.ts';
import { badge, filtersOf, form, needsAccount, pager, section, valueOf, withFilters } from './common.ts';
import { deviceDetail } from './device-detail.ts';
import { renewForm } from './renewals.ts';

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

const filterNames = ['clientId', 'online', 'category', 'configurationInSync', 'offset'];

/** The device registry: filters, the list, renewing a whole account or category now, and one device's page (device-detail.ts). */
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
    section(
      'Renew certificates now',
      h('p', { class: 'hint' }, 'Tells every online device of this account (or of one of its categories) to renew its certificate.'),
      renewForm(context, { accountId: context.accountId ?? context.principal.accountId ?? '' }, 'Renew all online devices'),
    ),
  );
}
