import type { Page } from '../api.ts';
import type { ConsoleContext } from '../context.ts';
import { button, field, formatTime, h, input, row, select, table } from '../dom.ts';
import { runForm } from '../problems.ts';
import { badge, filtersOf, form, pager, section, valueOf, withFilters } from './common.ts';

export interface Certificate {
  readonly serial: string;
  readonly accountId?: string;
  readonly clientId?: string;
  readonly status: 'VALID' | 'REVOKED';
  readonly notBefore: string;
  readonly notAfter: string;
  readonly revokedOn: string | null;
  readonly revocationReason?: string | null;
}

/** Revoking asks for a reason (kept in the audit log) in a small form of its own, then redraws the view. */
function revokeControl(context: ConsoleContext, certificate: Certificate): HTMLElement {
  const holder = h('div', { class: 'revoke' });
  if (!context.canWrite) return holder;
  const open = button('Revoke…', () => {
    const reason = input('reason', { required: true, placeholder: 'e.g. device stolen', 'aria-label': `Reason to revoke ${certificate.serial}` });
    const revokeForm = form(
      'inline-form compact',
      (element) =>
        void runForm(element, async () => {
          await context.api.call('POST', `/certificates/${encodeURIComponent(certificate.serial)}/revoke`, { reason: valueOf(element, 'reason') });
          context.navigate(location.hash);
        }),
      reason,
      h('button', { type: 'submit', class: 'danger' }, 'Revoke'),
      button('Cancel', () => holder.replaceChildren(open)),
    );
    holder.replaceChildren(revokeForm);
    reason.focus();
  });
  holder.append(open);
  return holder;
}

/** The certificates of one device or of a list: status, validity and a revoke action while valid. */
export function certificateTable(context: ConsoleContext, certificates: readonly Certificate[]): HTMLElement {
  return table(
    ['Serial', 'Client id', 'Status', 'Valid from', 'Until', 'Revoked', ''],
    certificates.map((certificate) =>
      row(
        h('code', {}, certificate.serial),
        certificate.clientId ?? '',
        badge(certificate.status),
        formatTime(certificate.notBefore),
        formatTime(certificate.notAfter),
        certificate.revokedOn ? `${formatTime(certificate.revokedOn)}${certificate.revocationReason ? ` (${certificate.revocationReason})` : ''}` : '—',
        certificate.status === 'VALID' ? revokeControl(context, certificate) : null,
      ),
    ),
    'No certificate.',
  );
}

const filterNames = ['clientId', 'status', 'offset'];

/** Issued certificates with filters; revoke one. */
export async function certificatesView(context: ConsoleContext): Promise<HTMLElement> {
  const filters = filtersOf(context, filterNames);
  const page = await context.api.get<Page<Certificate>>('/certificates', {
    accountId: context.accountId,
    clientId: filters.clientId,
    status: filters.status,
    offset: filters.offset ?? 0,
    limit: 50,
  });
  const filterForm = form(
    'filters',
    (element) => context.navigate(withFilters('certificates', { clientId: valueOf(element, 'clientId'), status: valueOf(element, 'status') })),
    field('Client id', input('clientId', { value: filters.clientId ?? '' })),
    field(
      'Status',
      select(
        'status',
        [
          ['', 'Any'],
          ['VALID', 'Valid'],
          ['REVOKED', 'Revoked'],
        ],
        filters.status ?? '',
      ),
    ),
    h('button', { type: 'submit' }, 'Filter'),
  );
  return h(
    'div',
    {},
    h('h1', {}, 'Certificates'),
    section(
      'Issued certificates',
      filterForm,
      certificateTable(context, page.items),
      pager(page, (offset) => context.navigate(withFilters('certificates', { ...filters, offset: String(offset) }))),
    ),
    context.isAdmin && context.accountId === null ? h('p', { class: 'hint' }, `Showing every account; choose one in the header to narrow.`) : null,
  );
}
