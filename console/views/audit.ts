import type { Page } from '../api.ts';
import { accountName, type AuditEvent, type ConsoleContext } from '../context.ts';
import { button, field, formatTime, h, input, row, table } from '../dom.ts';
import { badge, filtersOf, form, isoOf, section, valueOf, withFilters } from './common.ts';

const filterNames = ['type', 'clientId', 'provisionRequestId', 'startDate', 'endDate', 'offset'];
const pageSize = 50;

function detailText(detail: Record<string, unknown>): string {
  const text = JSON.stringify(detail);
  return text === '{}' ? '' : text.length > 160 ? `${text.slice(0, 160)}…` : text;
}

/** Audit events, newest first. */
export function auditTable(context: ConsoleContext, events: readonly AuditEvent[]): HTMLElement {
  return table(
    ['Time', 'Event', 'Account', 'Client id', 'Actor', 'Detail'],
    [...events]
      .sort((a, b) => (a.time < b.time ? 1 : -1))
      .map((event) =>
        row(
          formatTime(event.time),
          badge(event.type, event.outcome),
          accountName(context, event.accountId),
          event.clientId ?? '—',
          event.actor,
          h('code', { class: 'detail' }, detailText(event.detail)),
        ),
      ),
    'No event matches.',
  );
}

/** The audit log: filters, newest page first, paging to older and newer events. */
export async function auditView(context: ConsoleContext): Promise<HTMLElement> {
  const filters = filtersOf(context, filterNames);
  const query = {
    accountId: context.accountId,
    type: filters.type,
    clientId: filters.clientId,
    provisionRequestId: filters.provisionRequestId,
    startDate: filters.startDate,
    endDate: filters.endDate,
  };
  let offset = filters.offset !== undefined ? Number(filters.offset) : undefined;
  if (offset === undefined) {
    const { total } = await context.api.get<Page<AuditEvent>>('/audit-events', { ...query, limit: 1 });
    offset = Math.max(0, total - pageSize);
  }
  const page = await context.api.get<Page<AuditEvent>>('/audit-events', { ...query, offset, limit: pageSize });
  const go = (to: number) => context.navigate(withFilters('audit', { ...filters, offset: String(to) }));
  const localValue = (iso: string | undefined) =>
    iso ? new Date(new Date(iso).getTime() - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16) : '';
  const filterForm = form(
    'filters',
    (element) =>
      context.navigate(
        withFilters('audit', {
          type: valueOf(element, 'type'),
          clientId: valueOf(element, 'clientId'),
          provisionRequestId: valueOf(element, 'provisionRequestId'),
          startDate: isoOf(valueOf(element, 'startDate')),
          endDate: isoOf(valueOf(element, 'endDate')),
        }),
      ),
    field('Event type', input('type', { value: filters.type ?? '', placeholder: 'provision.completed' })),
    field('Client id', input('clientId', { value: filters.clientId ?? '' })),
    field('Request id', input('provisionRequestId', { value: filters.provisionRequestId ?? '' })),
    field('From', input('startDate', { type: 'datetime-local', value: localValue(filters.startDate) })),
    field('To', input('endDate', { type: 'datetime-local', value: localValue(filters.endDate) })),
    h('button', { type: 'submit' }, 'Filter'),
  );
  const last = page.offset + page.items.length;
  const pager = h(
    'div',
    { class: 'pager' },
    h('span', {}, page.total === 0 ? '0 events' : `${page.offset + 1}–${last} of ${page.total} (newest first)`),
    button('Newer', () => go(Math.min(page.offset + pageSize, Math.max(0, page.total - pageSize))), { disabled: last >= page.total }),
    button('Older', () => go(Math.max(0, page.offset - pageSize)), { disabled: page.offset === 0 }),
  );
  return h('div', {}, h('h1', {}, 'Audit log'), section('Events', filterForm, auditTable(context, page.items), pager));
}
