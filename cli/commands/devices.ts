import type { Schemas } from '../api-client.ts';
import { defineCommand, type CommandGroup } from '../command.ts';
import { booleanWord, pageOptions, pageQuery } from '../option-values.ts';
import { joined, printFields, printJson, printPageFooter, printTable, type Column } from '../output.ts';

const deviceColumns: readonly Column<Schemas['Device']>[] = [
  { header: 'ID', value: (device) => device.id },
  { header: 'CLIENT ID', value: (device) => device.clientId },
  { header: 'ONLINE', value: (device) => (device.online ? 'yes' : 'no') },
  { header: 'CATEGORY', value: (device) => device.category },
  { header: 'TAGS', value: (device) => joined(device.tags) },
  { header: 'CONFIGURATION', value: (device) => configurationSummary(device) },
  { header: 'MODEL', value: (device) => device.model },
  { header: 'FIRMWARE', value: (device) => device.firmware },
  { header: 'CERTIFICATE UNTIL', value: (device) => device.certificateNotAfter },
  { header: 'LAST SEEN', value: (device) => device.lastSeenOn },
];

/** in sync, out of sync (with the state the device reported), or not known. */
function configurationSummary(device: Schemas['Device']): string {
  if (device.expectedConfigurationHash === null) return '-';
  if (device.reportedConfigurationHash === device.expectedConfigurationHash) return 'in sync';
  return `out of sync (${device.configurationState ?? 'not reported'})`;
}

/** `provisio devices ...`: the device registry (devices that provisioned, their state as reported). */
export const devicesGroup: CommandGroup = {
  name: 'devices',
  summary: 'The device registry: list with filters, show one',
  commands: [
    defineCommand({
      name: 'ls',
      summary: 'List devices',
      usage: '--account NAME [--category C] [--tag T] [--online true|false] [--out-of-sync] [--client-id ID] [--limit N] [--offset N]',
      details: 'With the admin token --account is required; an account token sees its own devices.',
      options: {
        account: { type: 'string', value: 'NAME', help: 'The account (name or id).' },
        category: { type: 'string', value: 'C', help: 'Devices in this category.' },
        tag: { type: 'string', value: 'T', help: 'Devices carrying this tag.' },
        online: { type: 'string', value: 'true|false', help: 'Devices connected now (true) or not (false).' },
        'out-of-sync': { type: 'boolean', help: 'Devices whose reported configuration differs from the expected one (or was never reported).' },
        'in-sync': { type: 'boolean', help: 'Devices whose reported configuration is the expected one.' },
        'client-id': { type: 'string', value: 'ID', help: 'The device with this clientId.' },
        model: { type: 'string', value: 'M', help: 'Devices whose model is exactly M.' },
        firmware: { type: 'string', value: 'F', help: 'Devices whose firmware is exactly F.' },
        ...pageOptions,
      },
      positionals: { min: 0, max: 0 },
      run: async (context, values) => {
        const online = booleanWord('online', values.online);
        const inSync = values['out-of-sync'] ? false : values['in-sync'] ? true : undefined;
        const accountId = await context.accounts.optionalIdOf(values.account);
        const client = context.api();
        const query = {
          ...(accountId !== undefined ? { accountId } : {}),
          ...(values.category !== undefined ? { category: values.category } : {}),
          ...(values.tag !== undefined ? { tag: values.tag } : {}),
          ...(online !== undefined ? { online } : {}),
          ...(inSync !== undefined ? { configurationInSync: inSync } : {}),
          ...(values['client-id'] !== undefined ? { clientId: values['client-id'] } : {}),
          ...(values.model !== undefined ? { model: values.model } : {}),
          ...(values.firmware !== undefined ? { firmware: values.firmware } : {}),
          ...pageQuery(values),
        };
        const page = await client.call(client.client.GET('/api/v1/devices', { params: { query } }));
        if (context.out.json) return printJson(context.out, page);
        printTable(context.out, page.items, deviceColumns);
        printPageFooter(context.out, page);
      },
    }),
    defineCommand({
      name: 'show',
      summary: 'Show one device: its state, jobs, certificates and recent audit events',
      usage: 'ID',
      options: {},
      positionals: { min: 1, max: 1 },
      run: async ({ api, out }, _values, [id]) => {
        const client = api();
        const device = await client.call(client.client.GET('/api/v1/devices/{id}', { params: { path: { id: id! } } }));
        if (out.json) return printJson(out, device);
        printFields(out, [
          ['id', device.id],
          ['account', device.accountId],
          ['clientId', device.clientId],
          ['online', device.online ? `yes (broker ${device.brokerId ?? '?'})` : 'no'],
          ['category', device.category],
          ['tags', joined(device.tags)],
          ['model', device.model],
          ['serial', device.serial],
          ['firmware', device.firmware],
          ['configuration', `${device.configurationId ?? '(template)'} v${device.configurationVersion ?? '-'}: ${configurationSummary(device)}`],
          ['configurationError', device.configurationError],
          ['bundles', joined(device.bundles.map((bundle) => `${bundle.name}@${bundle.version}`))],
          ['certificate', device.certificateSerial],
          ['certificateUntil', device.certificateNotAfter],
          ['provisionedOn', device.provisionedOn],
          ['lastSeenOn', device.lastSeenOn],
        ]);
        if (device.jobs.length > 0) {
          out.stdout('\nJobs:\n');
          printTable(out, device.jobs, [
            { header: 'JOB', value: (job) => job.jobId },
            { header: 'STATE', value: (job) => job.state },
            { header: 'ERROR', value: (job) => job.error },
            { header: 'MODIFIED', value: (job) => job.modifiedOn },
          ]);
        }
        if (device.certificates.length > 0) {
          out.stdout('\nCertificates:\n');
          printTable(out, device.certificates, [
            { header: 'SERIAL', value: (certificate) => certificate.serial },
            { header: 'STATUS', value: (certificate) => certificate.status },
            { header: 'NOT AFTER', value: (certificate) => certificate.notAfter },
            { header: 'REVOKED', value: (certificate) => certificate.revokedOn },
          ]);
        }
        if (device.audit.length > 0) {
          out.stdout('\nRecent audit events:\n');
          printTable(out, device.audit, [
            { header: 'TIME', value: (event) => event.time },
            { header: 'TYPE', value: (event) => event.type },
            { header: 'OUTCOME', value: (event) => event.outcome },
            { header: 'ACTOR', value: (event) => event.actor },
          ]);
        }
      },
    }),
  ],
};
