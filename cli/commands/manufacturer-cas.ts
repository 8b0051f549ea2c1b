import type { Schemas } from '../api-client.ts';
import { enabledCommand, type EnabledSwitch } from './enabled-switch.ts';
import { defineCommand, type CommandContext, type CommandGroup } from '../command.ts';
import { UsageError } from '../exit-codes.ts';
import { pageOptions, pageQuery } from '../option-values.ts';
import { printFields, printJson, printPageFooter, printTable, type Column } from '../output.ts';

type ManufacturerCa = Schemas['ManufacturerCa'];

const caColumns: readonly Column<ManufacturerCa>[] = [
  { header: 'ID', value: (ca) => ca.id },
  { header: 'NAME', value: (ca) => ca.name },
  { header: 'ENABLED', value: (ca) => (ca.enabled ? 'yes' : 'no') },
  { header: 'NOT AFTER', value: (ca) => ca.notAfter },
  { header: 'SHA-256', value: (ca) => ca.fingerprintSha256 },
];

const blockColumns: readonly Column<Schemas['FactoryCertificateBlock']>[] = [
  { header: 'SERIAL', value: (block) => block.serial },
  { header: 'BLOCKED', value: (block) => block.blockedOn },
  { header: 'BY', value: (block) => block.blockedBy },
  { header: 'REASON', value: (block) => block.reason },
];

function printCa(context: CommandContext, ca: ManufacturerCa): void {
  if (context.out.json) return printJson(context.out, ca);
  printFields(context.out, [
    ['id', ca.id],
    ['name', ca.name],
    ['enabled', ca.enabled],
    // One attribute a line in the API: one line here.
    ['subject', ca.subject.split('\n').join(', ')],
    ['notAfter', ca.notAfter],
    ['fingerprintSha256', ca.fingerprintSha256],
    ['version', ca.version],
    ['modifiedOn', ca.modifiedOn],
  ]);
}

/** The record behind `enable` and `disable`. */
const enabledSwitch = {
  readVersion: async (client, id) => (await client.call(client.client.GET('/api/v1/manufacturer-cas/{id}', { params: { path: { id } } }))).version,
  patch: (client, id, body) => client.call(client.client.PATCH('/api/v1/manufacturer-cas/{id}', { params: { path: { id } }, body })),
} satisfies EnabledSwitch<{ name: string; enabled: boolean }>;

/**
 * `provisio manufacturer-cas ...`: the CAs device makers sign factory certificates with (issue 18,
 * PROTOCOL.md §17), and the factory certificates blocked one by one. Platform-wide: the admin token only.
 */
export const manufacturerCasGroup: CommandGroup = {
  name: 'manufacturer-cas',
  summary: 'Manufacturer CAs of factory certificates: register, enable, disable, delete; block and unblock a certificate',
  commands: [
    defineCommand({
      name: 'ls',
      summary: 'List the manufacturer CAs, oldest first',
      usage: '',
      options: {},
      positionals: { min: 0, max: 0 },
      run: async (context) => {
        const client = context.api();
        const list = await client.call(client.client.GET('/api/v1/manufacturer-cas'));
        if (context.out.json) return printJson(context.out, list);
        printTable(context.out, list.items, caColumns);
      },
    }),
    defineCommand({
      name: 'show',
      summary: 'Show one manufacturer CA (--json: with its PEM)',
      usage: 'ID',
      options: {},
      positionals: { min: 1, max: 1 },
      run: async (context, _values, [id]) => {
        const client = context.api();
        printCa(context, await client.call(client.client.GET('/api/v1/manufacturer-cas/{id}', { params: { path: { id: id! } } })));
      },
    }),
    defineCommand({
      name: 'register',
      summary: 'Register a manufacturer CA from its certificate (PEM): its factory certificates may then provision through enrollment groups',
      usage: '--name NAME --pem FILE',
      details:
        'The PEM must be one CA certificate (basicConstraints CA:TRUE), not expired: the one that signs the factory\n' +
        'certificates directly. Its name and its SHA-256 fingerprint are unique on the platform (409, exit code 1).',
      options: {
        name: { type: 'string', value: 'NAME', help: 'A name unique on the platform. Required.' },
        pem: { type: 'string', value: 'FILE', help: 'The CA certificate, PEM (- reads standard input). Required.' },
      },
      positionals: { min: 0, max: 0 },
      run: async (context, values) => {
        if (values.name === undefined) throw new UsageError('--name NAME is required');
        if (values.pem === undefined) throw new UsageError('--pem FILE is required');
        const pem = await context.readFile(values.pem);
        const client = context.api();
        printCa(context, await client.call(client.client.POST('/api/v1/manufacturer-cas', { body: { name: values.name, pem } })));
      },
    }),
    enabledCommand('enable', 'Enable a manufacturer CA', enabledSwitch),
    enabledCommand('disable', 'Disable a manufacturer CA: no device it signed is admitted, and their provision-broker sessions end', enabledSwitch),
    defineCommand({
      name: 'delete',
      summary: 'Delete a manufacturer CA no enrollment group names, with its blocked certificates',
      usage: 'ID',
      options: {},
      positionals: { min: 1, max: 1 },
      run: async ({ api, out }, _values, [id]) => {
        const client = api();
        await client.send(client.client.DELETE('/api/v1/manufacturer-cas/{id}', { params: { path: { id: id! } } }));
        if (out.json) return printJson(out, { id, deleted: true });
        out.stdout(`deleted ${id}\n`);
      },
    }),
    defineCommand({
      name: 'block',
      summary: 'Block one factory certificate of the CA (a stolen or cloned device): it is refused from now on',
      usage: 'ID --serial HEX --reason TEXT',
      details: 'Certificates already issued to the device stay valid: revoke them with `provisio certs revoke`.',
      options: {
        serial: { type: 'string', value: 'HEX', help: "The certificate's serial in hex (':' between bytes allowed). Required." },
        reason: { type: 'string', value: 'TEXT', help: 'Why, for operators and the audit log (e.g. reported stolen). Required.' },
      },
      positionals: { min: 1, max: 1 },
      run: async ({ api, out }, values, [id]) => {
        if (values.serial === undefined) throw new UsageError('--serial HEX is required');
        if (values.reason === undefined) throw new UsageError('--reason TEXT is required');
        const client = api();
        const body = { serial: values.serial, reason: values.reason };
        const block = await client.call(client.client.POST('/api/v1/manufacturer-cas/{id}/blocked-certificates', { params: { path: { id: id! } }, body }));
        if (out.json) return printJson(out, block);
        out.stdout(`blocked ${block.serial}\n`);
      },
    }),
    defineCommand({
      name: 'unblock',
      summary: 'Unblock a factory certificate of the CA: the device may provision again',
      usage: 'ID --serial HEX',
      options: { serial: { type: 'string', value: 'HEX', help: 'The serial as blocked, in any spelling (00:10:01 is 1001). Required.' } },
      positionals: { min: 1, max: 1 },
      run: async ({ api, out }, values, [id]) => {
        if (values.serial === undefined) throw new UsageError('--serial HEX is required');
        const client = api();
        const path = { id: id!, serial: values.serial };
        await client.send(client.client.DELETE('/api/v1/manufacturer-cas/{id}/blocked-certificates/{serial}', { params: { path } }));
        if (out.json) return printJson(out, { manufacturerCaId: id, serial: values.serial, unblocked: true });
        out.stdout(`unblocked ${values.serial}\n`);
      },
    }),
    defineCommand({
      name: 'blocked',
      summary: 'List the blocked factory certificates of a manufacturer CA, newest first',
      usage: 'ID [--limit N] [--offset N]',
      options: { ...pageOptions },
      positionals: { min: 1, max: 1 },
      run: async (context, values, [id]) => {
        const query = pageQuery(values);
        const client = context.api();
        const page = await client.call(client.client.GET('/api/v1/manufacturer-cas/{id}/blocked-certificates', { params: { path: { id: id! }, query } }));
        if (context.out.json) return printJson(context.out, page);
        printTable(context.out, page.items, blockColumns);
        printPageFooter(context.out, page);
      },
    }),
  ],
};
