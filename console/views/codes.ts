import type { Page } from '../api.ts';
import { accountName, type AuditEvent, type ConsoleContext } from '../context.ts';
import { button, download, field, formatTime, h, input, replaceChildren, row, select, table } from '../dom.ts';
import { runForm, showProblem } from '../problems.ts';
import { categoryChoice } from './category-choice.ts';
import { accountField, badge, filtersOf, form, pager, section, valueOf, withFilters } from './common.ts';
import { copyText } from './credentials.ts';
import type { Device } from './devices.ts';

/** A provisioning code as GET /api/v1/provisioning-codes lists it: never the code itself. */
interface ProvisioningCode {
  readonly id: string;
  readonly accountId: string;
  readonly category: string | null;
  readonly status: 'PENDING' | 'REGISTERED';
  readonly clientId: string | null;
  readonly provisionRequestId: string | null;
  readonly createdOn: string;
  readonly expiresOn: string;
  readonly registeredOn: string | null;
}

/** One line of the codes CSV the API answers (id,code,accountId,category,expiresOn). */
interface MadeCode {
  readonly id: string;
  readonly code: string;
  readonly category: string;
  readonly expiresOn: string;
}

const shownCodes = 50;
const filterNames = ['status', 'offset'];
/** Events after which the list may read differently: a code used, registered or deleted, its request made or moved on. */
const listChangingEvent = /^(provisioning-code|request|provision)\./;

/**
 * The API's codes CSV read back for the page. Its cells never need quoting (ids, digits with
 * dashes, category names of [A-Za-z0-9._-], ISO times), so a line is split at its commas.
 */
function codesOf(csv: string): MadeCode[] {
  const [header = '', ...lines] = csv.split(/\r?\n/).filter((line) => line !== '');
  const columns = header.split(',');
  return lines.map((line) => {
    const cells = line.split(',');
    const cell = (name: string) => cells[columns.indexOf(name)] ?? '';
    return { id: cell('id'), code: cell('code'), category: cell('category'), expiresOn: cell('expiresOn') };
  });
}

/** The codes just made, this once: the list, a copy button and the CSV download (the platform keeps only their hashes). */
function madeCodesPanel(csv: string, onDone: () => void): HTMLElement {
  const codes = codesOf(csv);
  const status = h('span', { class: 'copy-status', 'aria-live': 'polite' });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const panel = h(
    'section',
    { class: 'card credentials', role: 'region', 'aria-label': 'New provisioning codes' },
    h('h2', {}, `${codes.length} provisioning codes made`),
    h(
      'p',
      { class: 'warning', role: 'alert' },
      'Shown once: copy or download them now. The platform keeps only a keyed hash of each and cannot show them again.',
    ),
    h(
      'div',
      { class: 'actions' },
      button(`Download CSV (${codes.length})`, () => download(`provisioning-codes-${stamp}.csv`, csv), { class: 'primary', id: 'download-codes' }),
      button('Copy codes', () => void copyText(codes.map((made) => made.code).join('\n'), status)),
      status,
    ),
    h('ol', { class: 'made-codes' }, ...codes.map((made) => h('li', {}, h('code', { 'data-code-id': made.id }, made.code)))),
    h('p', { class: 'hint' }, codes[0] ? `Unused codes expire ${formatTime(codes[0].expiresOn)}.` : ''),
    button('I have kept them', () => {
      panel.remove();
      onDone();
    }),
  );
  return panel;
}

function createForm(context: ConsoleContext, shown: HTMLElement, onCreated: () => void): HTMLFormElement {
  return form(
    'inline-form',
    (element) =>
      void runForm(element, async () => {
        const category = valueOf(element, 'category');
        const validityDays = valueOf(element, 'validityDays');
        const body = {
          accountId: valueOf(element, 'accountId'),
          count: Number(valueOf(element, 'count')),
          ...(category ? { category } : {}),
          ...(validityDays ? { validityDays: Number(validityDays) } : {}),
        };
        // Asked for as the API's CSV: the one file to keep, read back here to show the codes.
        const answer = await context.api.sendText('/provisioning-codes', {}, JSON.stringify(body), 'application/json', 'text/csv');
        shown.replaceChildren(madeCodesPanel(answer.text, () => shown.replaceChildren()));
        shown.querySelector<HTMLElement>('button')?.focus();
        onCreated();
      }),
    accountField(context),
    categoryChoice(context),
    field('How many', input('count', { type: 'number', min: 1, max: 1000, value: 1, required: true, inputmode: 'numeric' }), '1 to 1000'),
    field(
      'Valid for (days)',
      input('validityDays', { type: 'number', min: 1, max: 31, inputmode: 'numeric', placeholder: 'default' }),
      'Unused codes expire then; at most 31.',
    ),
    h('button', { type: 'submit', class: 'primary' }, 'Make codes'),
  );
}

/** Where the device that used a code is: its page when the registry has it, else its clientId. */
function deviceCell(code: ProvisioningCode, devices: ReadonlyMap<string, Device>): HTMLElement | string {
  if (code.clientId === null) return '—';
  const device = devices.get(`${code.accountId}/${code.clientId}`);
  return device ? h('a', { href: `#/devices/${encodeURIComponent(device.id)}` }, device.clientId) : h('span', {}, code.clientId);
}

/**
 * Provisioning codes (issue 18): make 1 to 1000 for an account and category (shown once, with a
 * copy button and the API's CSV as a download), and the account's codes, Pending → Registered with
 * the device that used each, redrawn when the live event stream reports a code or request change.
 */
export async function codesView(context: ConsoleContext): Promise<HTMLElement> {
  const filters = filtersOf(context, filterNames);
  const shown = h('div', { class: 'shown-once' });
  const errors = h('div', {});
  const listBody = h('div', { class: 'codes-list' });

  const draw = async () => {
    const query = { accountId: context.accountId, status: filters.status };
    // The newest page unless one was chosen: the batch just made is what an operator looks for.
    const offset =
      filters.offset !== undefined
        ? Number(filters.offset)
        : Math.max(0, (await context.api.get<Page<ProvisioningCode>>('/provisioning-codes', { ...query, limit: 1 })).total - shownCodes);
    const page = await context.api.get<Page<ProvisioningCode>>('/provisioning-codes', { ...query, offset, limit: shownCodes });
    const accountIds = [...new Set(page.items.filter((code) => code.clientId !== null).map((code) => code.accountId))];
    const registries = await Promise.all(accountIds.map((accountId) => context.api.get<Page<Device>>('/devices', { accountId, limit: 1000 })));
    const devices = new Map(registries.flatMap((registry) => registry.items).map((device) => [`${device.accountId}/${device.clientId}`, device]));
    const rows = [...page.items].reverse().map((code) => {
      const line = row(
        badge(code.status === 'REGISTERED' ? 'Registered' : 'Pending'),
        deviceCell(code, devices),
        accountName(context, code.accountId),
        code.category ?? '—',
        formatTime(code.createdOn),
        formatTime(code.expiresOn),
        formatTime(code.registeredOn),
      );
      if (context.canWrite)
        line.append(
          h(
            'td',
            {},
            button('Delete', () => remove(code), { 'aria-label': `Delete code ${code.id}` }),
          ),
        );
      line.dataset.codeId = code.id;
      line.dataset.status = code.status;
      return line;
    });
    replaceChildren(
      listBody,
      table(
        ['Status', 'Device', 'Account', 'Category', 'Created', 'Expires', 'Registered', ...(context.canWrite ? ['Actions'] : [])],
        rows,
        'No code matches.',
      ),
      pager(page, (to) => context.navigate(withFilters('codes', { ...filters, offset: String(to) }))),
    );
  };
  let drawing = Promise.resolve();
  const redraw = () => {
    drawing = drawing.then(draw).catch((error: unknown) => showProblem(errors, error));
  };
  const remove = (code: ProvisioningCode) => {
    const what = code.status === 'PENDING' && code.clientId === null ? 'It will admit no device.' : 'Its record goes; the device keeps its certificate.';
    if (!confirm(`Delete this provisioning code? ${what}`)) return;
    context.api.call('DELETE', `/provisioning-codes/${encodeURIComponent(code.id)}`).then(redraw, (error: unknown) => showProblem(errors, error));
  };

  let pending: ReturnType<typeof setTimeout> | undefined;
  context.onAuditEvent((event: AuditEvent) => {
    if (!listChangingEvent.test(event.type)) return;
    if (context.accountId !== null && event.accountId !== context.accountId) return;
    clearTimeout(pending);
    pending = setTimeout(redraw, 300);
  });
  await draw();

  const filterForm = form(
    'filters',
    (element) => context.navigate(withFilters('codes', { status: valueOf(element, 'status') })),
    field(
      'Status',
      select(
        'status',
        [
          ['', 'Any'],
          ['PENDING', 'Pending'],
          ['REGISTERED', 'Registered'],
        ],
        filters.status ?? '',
      ),
    ),
    h('button', { type: 'submit' }, 'Filter'),
  );
  return h(
    'div',
    {},
    h('h1', {}, 'Provisioning codes'),
    h(
      'p',
      { class: 'hint' },
      'A device provisions with user name provisioning-code and a code as its password, into the code’s account and category. Each code admits one device.',
    ),
    shown,
    context.canWrite ? section('New codes', createForm(context, shown, redraw)) : null,
    section('Codes', filterForm, errors, listBody),
  );
}
