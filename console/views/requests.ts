import type { Page } from '../api.ts';
import { accountName, type ConsoleContext } from '../context.ts';
import { button, field, formatTime, h, input, row, select, table } from '../dom.ts';
import { runForm, showProblem } from '../problems.ts';
import { accountField, badge, checked, filtersOf, form, pager, section, valueOf, withFilters } from './common.ts';
import { credentialsPanel, type Credentials } from './credentials.ts';

export interface ProvisionRequest {
  readonly id: string;
  readonly accountId: string;
  readonly clientId: string;
  readonly status: 'ENABLED' | 'DISABLED';
  readonly jobStatus: string;
  readonly category: string | null;
  readonly createdOn: string;
  /** Who made it: an actor, or `enrollment-group:{id}` / `provisioning-code:{id}` for a request made as a device enrolled itself. */
  readonly createdBy: string;
  readonly modifiedOn: string;
  readonly version: number;
}

const jobStatuses = [
  'CREATED',
  'STARTED',
  'RUNNING',
  'CONF_UPDATING',
  'CONF_UPDATED',
  'APPS_INSTALLING',
  'APPS_INSTALLED',
  'COMPLETED',
  'FAILED',
  'ABANDONED',
  'STOPPED',
];
const filterNames = ['status', 'jobStatus', 'clientId', 'category', 'offset'];

function createForm(context: ConsoleContext, shown: HTMLElement): HTMLFormElement {
  const created = form(
    'inline-form',
    (element) =>
      void runForm(element, async () => {
        const category = valueOf(element, 'category');
        const body = {
          accountId: valueOf(element, 'accountId'),
          clientId: valueOf(element, 'clientId'),
          generateActivationKey: checked(element, 'generateActivationKey'),
          ...(category ? { category } : {}),
        };
        const request = await context.api.call<ProvisionRequest & { credentials: Credentials }>('POST', '/provision-requests', body);
        element.reset();
        shown.replaceChildren(credentialsPanel(request.clientId, request.credentials, () => context.navigate(location.hash)));
        shown.querySelector('button')?.focus();
      }),
    accountField(context),
    field('Client id', input('clientId', { required: true, placeholder: 'AABBCCDDEEFF' })),
    field('Category (optional)', input('category')),
    h('div', { class: 'field checkbox' }, h('label', {}, input('generateActivationKey', { type: 'checkbox' }), ' Generate an activation key')),
    h('button', { type: 'submit', class: 'primary' }, 'Create request'),
  );
  return created;
}

function actions(context: ConsoleContext, request: ProvisionRequest, errors: HTMLElement): HTMLElement {
  const audit = h('a', { href: withFilters('audit', { provisionRequestId: request.id }) }, 'Audit trail');
  if (!context.canWrite) return h('div', { class: 'actions' }, audit);
  const act = (label: string, run: () => Promise<unknown>, confirmText?: string) =>
    button(label, () => {
      if (confirmText && !confirm(confirmText)) return;
      run().then(
        () => context.navigate(location.hash),
        (error: unknown) => showProblem(errors, error),
      );
    });
  const path = `/provision-requests/${encodeURIComponent(request.id)}`;
  return h(
    'div',
    { class: 'actions' },
    request.status === 'ENABLED'
      ? act('Disable', () => context.api.call('POST', `${path}/disable`))
      : act('Enable', () => context.api.call('POST', `${path}/enable`)),
    act('Delete', () => context.api.call('DELETE', path), `Delete the request of ${request.clientId}? Its device can no longer provision.`),
    audit,
  );
}

/** Provision requests: create one (credentials shown once), the list with filters, disable/enable, delete, audit trail. */
export async function requestsView(context: ConsoleContext): Promise<HTMLElement> {
  const filters = filtersOf(context, filterNames);
  const page = await context.api.get<Page<ProvisionRequest>>('/provision-requests', {
    accountId: context.accountId,
    status: filters.status,
    jobStatus: filters.jobStatus,
    clientId: filters.clientId,
    category: filters.category,
    offset: filters.offset ?? 0,
    limit: 50,
  });
  const shown = h('div', { class: 'shown-once' });
  const errors = h('div', {});
  const filterForm = form(
    'filters',
    (element) =>
      context.navigate(
        withFilters('requests', {
          status: valueOf(element, 'status'),
          jobStatus: valueOf(element, 'jobStatus'),
          clientId: valueOf(element, 'clientId'),
          category: valueOf(element, 'category'),
        }),
      ),
    field(
      'Status',
      select(
        'status',
        [
          ['', 'Any'],
          ['ENABLED', 'Enabled'],
          ['DISABLED', 'Disabled'],
        ],
        filters.status ?? '',
      ),
    ),
    field('Provisioning', select('jobStatus', [['', 'Any'], ...jobStatuses.map((status) => [status, status] as const)], filters.jobStatus ?? '')),
    field('Client id', input('clientId', { value: filters.clientId ?? '' })),
    field('Category', input('category', { value: filters.category ?? '' })),
    h('button', { type: 'submit' }, 'Filter'),
  );
  const rows = page.items.map((request) =>
    row(
      h('strong', {}, request.clientId),
      accountName(context, request.accountId),
      badge(request.status),
      badge(request.jobStatus),
      request.category ?? '—',
      formatTime(request.createdOn),
      actions(context, request, errors),
    ),
  );
  return h(
    'div',
    {},
    h('h1', {}, 'Provision requests'),
    shown,
    context.canWrite ? section('New request', createForm(context, shown)) : null,
    section(
      'Requests',
      filterForm,
      errors,
      table(['Client id', 'Account', 'Status', 'Provisioning', 'Category', 'Created', 'Actions'], rows, 'No request matches.'),
      pager(page, (offset) => context.navigate(withFilters('requests', { ...filters, offset: String(offset) }))),
    ),
  );
}
