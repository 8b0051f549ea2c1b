import type { Page } from '../api.ts';
import { accountName, type ConsoleContext } from '../context.ts';
import { button, field, formatTime, h, input, row, select, table } from '../dom.ts';
import { runForm, showProblem } from '../problems.ts';
import { categoryChoice } from './category-choice.ts';
import { accountField, badge, checked, form, section, valueOf } from './common.ts';

/** A manufacturer CA as the API lists it (platform-wide; a token of no account reads them). */
interface ManufacturerCa {
  readonly id: string;
  readonly name: string;
  readonly subject: string;
  readonly fingerprintSha256: string;
  readonly notAfter: string;
  readonly enabled: boolean;
  readonly version: number;
}

/** An enrollment group as the API lists it (only the fields this view shows). */
interface EnrollmentGroup {
  readonly id: string;
  readonly accountId: string;
  readonly name: string;
  readonly manufacturerCaId: string;
  readonly category: string | null;
  readonly reprovisionAllowed: boolean;
  readonly enabled: boolean;
  readonly version: number;
}

/** Enable or disable a CA or group (PATCH with its version), then draw the view again; a problem is shown in `errors`. */
function toggle(context: ConsoleContext, path: string, record: { enabled: boolean; version: number; name: string }, errors: HTMLElement): HTMLElement {
  const label = record.enabled ? 'Disable' : 'Enable';
  return button(
    label,
    () => {
      if (record.enabled && !confirm(`Disable ${record.name}? The devices it admits are refused, and those provisioning now are disconnected.`)) return;
      context.api.call('PATCH', path, { version: record.version, enabled: !record.enabled }).then(
        () => context.navigate(location.hash),
        (error: unknown) => showProblem(errors, error),
      );
    },
    { 'aria-label': `${label} ${record.name}` },
  );
}

function caSection(context: ConsoleContext, cas: readonly ManufacturerCa[]): HTMLElement {
  const errors = h('div', {});
  const register = form(
    'stacked-form',
    (element) =>
      void runForm(element, async () => {
        await context.api.call('POST', '/manufacturer-cas', { name: valueOf(element, 'name'), pem: valueOf(element, 'pem') });
        context.navigate(location.hash);
      }),
    field('Name', input('name', { required: true, placeholder: 'Example Maker CA' })),
    field(
      'CA certificate (PEM)',
      h('textarea', { name: 'pem', rows: 6, spellcheck: 'false', placeholder: '-----BEGIN CERTIFICATE-----' }),
      'The CA that signs the factory certificates directly: one certificate with CA:TRUE.',
    ),
    h('button', { type: 'submit', class: 'primary' }, 'Register CA'),
  );
  const rows = cas.map((ca) =>
    row(
      h('strong', {}, ca.name),
      h('code', { class: 'detail' }, ca.subject),
      formatTime(ca.notAfter),
      badge(ca.enabled ? 'enabled' : 'disabled'),
      context.canAdminister ? toggle(context, `/manufacturer-cas/${encodeURIComponent(ca.id)}`, ca, errors) : null,
    ),
  );
  return section(
    'Manufacturer CAs',
    h('p', { class: 'hint' }, 'Devices with a factory certificate signed by an enabled CA provision through an enrollment group on it. Platform-wide.'),
    errors,
    table(['Name', 'Subject', 'Valid until', 'State', 'Actions'], rows, 'No manufacturer CA registered.'),
    context.canAdminister ? h('details', {}, h('summary', {}, 'Register a CA'), register) : null,
  );
}

function groupForm(context: ConsoleContext, cas: readonly ManufacturerCa[]): HTMLFormElement {
  // The CAs are listed for a token of no account only; an account token names one by its id.
  const caField = context.isAdmin
    ? field('Manufacturer CA', select('manufacturerCaId', [['', 'Choose…'], ...cas.filter((ca) => ca.enabled).map((ca) => [ca.id, ca.name] as const)]))
    : field('Manufacturer CA id', input('manufacturerCaId', { required: true }));
  return form(
    'inline-form',
    (element) =>
      void runForm(element, async () => {
        const category = valueOf(element, 'category');
        await context.api.call('POST', '/enrollment-groups', {
          accountId: valueOf(element, 'accountId'),
          name: valueOf(element, 'name'),
          manufacturerCaId: valueOf(element, 'manufacturerCaId'),
          category: category || null,
          reprovisionAllowed: checked(element, 'reprovisionAllowed'),
        });
        context.navigate(location.hash);
      }),
    accountField(context),
    field('Group name', input('name', { required: true, placeholder: 'line-3 meters' })),
    caField,
    categoryChoice(context),
    h('div', { class: 'field checkbox' }, h('label', {}, input('reprovisionAllowed', { type: 'checkbox' }), ' May provision again after a factory reset')),
    h('button', { type: 'submit', class: 'primary' }, 'Create group'),
  );
}

/**
 * Zero-touch enrollment (issue 18): the manufacturer CAs (the admin registers one by pasting its
 * PEM, enables or disables it) and the enrollment groups that send a CA's devices into an account
 * and category (create, enable or disable). The lists of serials and clientIds, validity windows and
 * discovery's broker URLs stay with the API and CLI.
 */
export async function enrollmentView(context: ConsoleContext): Promise<HTMLElement> {
  const [cas, groups] = await Promise.all([
    context.isAdmin ? context.api.get<{ items: ManufacturerCa[] }>('/manufacturer-cas').then((list) => list.items) : Promise.resolve([]),
    context.api.get<Page<EnrollmentGroup>>('/enrollment-groups', { accountId: context.accountId, limit: 1000 }),
  ]);
  const caName = (id: string) => cas.find((ca) => ca.id === id)?.name ?? id;
  const errors = h('div', {});
  const rows = groups.items.map((group) =>
    row(
      h('strong', {}, group.name),
      accountName(context, group.accountId),
      caName(group.manufacturerCaId),
      group.category ?? '—',
      group.reprovisionAllowed ? 'yes' : 'no',
      badge(group.enabled ? 'enabled' : 'disabled'),
      context.canWrite ? toggle(context, `/enrollment-groups/${encodeURIComponent(group.id)}`, group, errors) : null,
    ),
  );
  return h(
    'div',
    {},
    h('h1', {}, 'Zero-touch enrollment'),
    context.isAdmin ? caSection(context, cas) : null,
    section(
      'Enrollment groups',
      errors,
      table(['Group', 'Account', 'Manufacturer CA', 'Category', 'Again after reset', 'State', 'Actions'], rows, 'No enrollment group.'),
      context.canWrite ? h('h3', {}, 'New group') : null,
      context.canWrite ? groupForm(context, cas) : null,
    ),
  );
}
