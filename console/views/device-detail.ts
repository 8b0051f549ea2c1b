import type { Page } from '../api.ts';
import { accountName, type AuditEvent, type ConsoleContext } from '../context.ts';
import { field, formatTime, h, input, row, select, table } from '../dom.ts';
import { runForm } from '../problems.ts';
import { auditTable } from './audit.ts';
import type { Category } from './catalog.ts';
import { certificateTable, type Certificate } from './certificates.ts';
import { badge, form, section, valueOf } from './common.ts';
import type { Device } from './devices.ts';
import { listOf } from './job-form.ts';
import { renewForm } from './renewals.ts';

interface DeviceDetail extends Device {
  readonly configurationId: string | null;
  readonly configurationVersion: number | null;
  readonly expectedConfigurationHash: string | null;
  readonly reportedConfigurationHash: string | null;
  readonly certificates: Certificate[];
  readonly audit: AuditEvent[];
  readonly jobs: { jobId: string; state: string; error: string | null; modifiedOn: string }[];
}

/** Its configuration as the platform holds it and as the device answered: the state, a refusal's reason, the two hashes. */
function configurationFacts(device: DeviceDetail): HTMLElement {
  const fact = (label: string, value: string | Node) => [h('dt', {}, label), h('dd', {}, value)];
  const hash = (value: string | null) => (value ? h('code', {}, value) : '—');
  return h(
    'dl',
    { class: 'facts configuration-facts' },
    ...fact('State', device.configurationState ? badge(device.configurationState) : 'nothing sent yet'),
    ...(device.configurationError ? fact('Why refused', h('span', { class: 'configuration-error' }, device.configurationError)) : []),
    ...fact(
      'Configuration',
      device.configurationId
        ? h(
            'a',
            { href: `#/catalog/configurations/${encodeURIComponent(device.configurationId)}` },
            `${device.configurationId} v${device.configurationVersion ?? '?'}`,
          )
        : 'the account template',
    ),
    ...fact('Expected hash', hash(device.expectedConfigurationHash)),
    ...fact('Reported hash', hash(device.reportedConfigurationHash)),
  );
}

/** Moves the device to another category of its account (or none) and/or replaces its tags (PATCH /devices/{id}). */
function moveForm(context: ConsoleContext, device: DeviceDetail, categories: readonly Category[]): HTMLFormElement {
  return form(
    'inline-form',
    (element) =>
      void runForm(element, async () => {
        await context.api.call('PATCH', `/devices/${encodeURIComponent(device.id)}`, {
          category: valueOf(element, 'category') || null,
          tags: listOf(valueOf(element, 'tags')),
        });
        context.navigate(location.hash);
      }),
    field('Category', select('category', [['', 'None'], ...categories.map((category) => [category.name, category.name] as const)], device.category ?? '')),
    field('Tags', input('tags', { value: device.tags.join(', ') }), 'Separated by commas.'),
    h('button', { type: 'submit', class: 'primary' }, 'Save category and tags'),
  );
}

/** One device: its facts, configuration state, category and tags (changeable), certificates (revoke, renew now), jobs and events. */
export async function deviceDetail(context: ConsoleContext, id: string): Promise<HTMLElement> {
  const device = await context.api.get<DeviceDetail>(`/devices/${encodeURIComponent(id)}`);
  const categories = await context.api.get<Page<Category>>('/categories', { accountId: device.accountId, limit: 1000 });
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
        ...fact('Model', device.model ?? '—'),
        ...fact('Serial', device.serial ?? '—'),
        ...fact('Firmware', device.firmware ?? '—'),
        ...fact('Bundles installed', device.bundles.map((bundle) => `${bundle.name} ${bundle.version}`).join(', ') || '—'),
        ...fact('Certificate until', formatTime(device.certificateNotAfter)),
        ...fact('Provisioned', formatTime(device.provisionedOn)),
        ...fact('Last birth', formatTime(device.lastBirthOn)),
        ...fact('Last seen', formatTime(device.lastSeenOn)),
      ),
    ),
    section('Configuration', configurationFacts(device)),
    section(
      'Category and tags',
      h('p', { class: 'hint' }, 'An online device is told at once to catch up (configuration, matching update jobs).'),
      moveForm(context, device, categories.items),
    ),
    section(
      'Certificates',
      certificateTable(
        context,
        device.certificates.map((certificate) => ({ clientId: device.clientId, ...certificate })),
      ),
      h('h3', {}, 'Renew now'),
      renewForm(context, { clientId: device.clientId }, 'Renew certificate now'),
    ),
    section(
      'Update jobs',
      table(
        ['Job', 'State', 'Error', 'Changed'],
        device.jobs.map((job) =>
          row(
            h('a', { href: `#/jobs/${encodeURIComponent(job.jobId)}` }, h('code', {}, job.jobId)),
            badge(job.state),
            job.error ?? '—',
            formatTime(job.modifiedOn),
          ),
        ),
        'No update job.',
      ),
    ),
    section('Latest events', auditTable(context, device.audit)),
  );
}
