import type { Schemas } from '../api-client.ts';
import { enabledCommand, type EnabledSwitch } from './enabled-switch.ts';
import { defineCommand, type CommandContext, type CommandGroup } from '../command.ts';
import { UsageError } from '../exit-codes.ts';
import { dateTimeOption, pageOptions, pageQuery } from '../option-values.ts';
import { joined, printFields, printJson, printPageFooter, printTable, type Column } from '../output.ts';

type EnrollmentGroup = Schemas['EnrollmentGroup'];

async function groupColumns(context: CommandContext, groups: readonly EnrollmentGroup[]): Promise<Column<EnrollmentGroup>[]> {
  const accountNames = new Map<string, string>();
  for (const id of new Set(groups.map((group) => group.accountId))) accountNames.set(id, await context.accounts.nameOf(id));
  return [
    { header: 'ID', value: (group) => group.id },
    { header: 'ACCOUNT', value: (group) => accountNames.get(group.accountId) },
    { header: 'NAME', value: (group) => group.name },
    { header: 'CA', value: (group) => group.manufacturerCaId },
    { header: 'CATEGORY', value: (group) => group.category },
    { header: 'ENABLED', value: (group) => (group.enabled ? 'yes' : 'no') },
    { header: 'REPROVISION', value: (group) => (group.reprovisionAllowed ? 'yes' : 'no') },
    { header: 'VALID UNTIL', value: (group) => group.validUntil },
  ];
}

function printGroup(context: CommandContext, group: EnrollmentGroup): void {
  if (context.out.json) return printJson(context.out, group);
  printFields(context.out, [
    ['id', group.id],
    ['account', group.accountId],
    ['name', group.name],
    ['manufacturerCa', group.manufacturerCaId],
    ['enabled', group.enabled],
    ['category', group.category],
    ['configuration', group.configurationId],
    ['bundles', joined(group.bundleIds)],
    ['tags', joined(group.tags)],
    ['allowSerials', joined(group.allowSerials)],
    ['allowClientIds', joined(group.allowClientIds)],
    ['denySerials', joined(group.denySerials)],
    ['denyClientIds', joined(group.denyClientIds)],
    ['validFrom', group.validFrom],
    ['validUntil', group.validUntil],
    ['reprovisionAllowed', group.reprovisionAllowed],
    ['provisionBrokerUrl', group.provisionBrokerUrl],
    ['version', group.version],
    ['modifiedOn', group.modifiedOn],
  ]);
}

/** The record behind `enable` and `disable`. */
const enabledSwitch = {
  readVersion: async (client, id) => (await client.call(client.client.GET('/api/v1/enrollment-groups/{id}', { params: { path: { id } } }))).version,
  patch: (client, id, body) => client.call(client.client.PATCH('/api/v1/enrollment-groups/{id}', { params: { path: { id } }, body })),
} satisfies EnabledSwitch<{ name: string; enabled: boolean }>;

/**
 * `provisio enrollment-groups ...`: which devices with a factory certificate of a manufacturer CA
 * provision into an account on their own, and what their provision request says (issue 18, PROTOCOL.md §17).
 */
export const enrollmentGroupsGroup: CommandGroup = {
  name: 'enrollment-groups',
  summary: 'Enrollment groups: where devices with a factory certificate land; list, create, enable, disable, delete',
  commands: [
    defineCommand({
      name: 'ls',
      summary: 'List enrollment groups, oldest first',
      usage: '[--account NAME] [--ca ID] [--limit N] [--offset N]',
      options: {
        account: { type: 'string', value: 'NAME', help: 'Only this account (name or id).' },
        ca: { type: 'string', value: 'ID', help: 'Only groups on this manufacturer CA.' },
        ...pageOptions,
      },
      positionals: { min: 0, max: 0 },
      run: async (context, values) => {
        const accountId = await context.accounts.optionalIdOf(values.account);
        const client = context.api();
        const query = {
          ...(accountId !== undefined ? { accountId } : {}),
          ...(values.ca !== undefined ? { manufacturerCaId: values.ca } : {}),
          ...pageQuery(values),
        };
        const page = await client.call(client.client.GET('/api/v1/enrollment-groups', { params: { query } }));
        if (context.out.json) return printJson(context.out, page);
        printTable(context.out, page.items, await groupColumns(context, page.items));
        printPageFooter(context.out, page);
      },
    }),
    defineCommand({
      name: 'show',
      summary: 'Show one enrollment group',
      usage: 'ID',
      options: {},
      positionals: { min: 1, max: 1 },
      run: async (context, _values, [id]) => {
        const client = context.api();
        printGroup(context, await client.call(client.client.GET('/api/v1/enrollment-groups/{id}', { params: { path: { id: id! } } })));
      },
    }),
    defineCommand({
      name: 'create',
      summary: 'Create an enrollment group: devices with a factory certificate of the CA provision into the account on their own',
      usage: '--account NAME --name NAME --ca ID [--category C] [--tag T]... [--reprovision] [--allow-serial S]... [more options]',
      details:
        'With no --allow-* option every factory certificate of the CA is admitted (except the --deny-* ones and the\n' +
        'blocked ones). The category, configuration and bundles must be of the account (400 names each bad one, exit 1).',
      options: {
        account: { type: 'string', value: 'NAME', help: 'The account the devices land in (name or id). Required.' },
        name: { type: 'string', value: 'NAME', help: 'A name unique in the account. Required.' },
        ca: { type: 'string', value: 'ID', help: 'The manufacturer CA whose factory certificates the group takes. Required.' },
        category: { type: 'string', value: 'C', help: 'The category the devices get.' },
        configuration: { type: 'string', value: 'ID', help: "A configuration for the devices (default: the category's or the account's)." },
        bundle: { type: 'string', multiple: true, value: 'ID', help: 'A bundle for the devices.' },
        tag: { type: 'string', multiple: true, value: 'T', help: 'A tag the devices get.' },
        reprovision: { type: 'boolean', help: 'A device that completed may provision again with its factory certificate (after a factory reset).' },
        'provision-broker-url': {
          type: 'string',
          value: 'URL',
          help: "Where discovery sends the devices: another platform's provision broker (mqtt:// or mqtts://; default: this one).",
        },
        'allow-serial': { type: 'string', multiple: true, value: 'HEX', help: 'Admit only factory certificates of these serials.' },
        'allow-client-id': { type: 'string', multiple: true, value: 'ID', help: 'Admit only devices of these clientIds (certificate CNs).' },
        'deny-serial': { type: 'string', multiple: true, value: 'HEX', help: 'Refuse the factory certificate of this serial.' },
        'deny-client-id': { type: 'string', multiple: true, value: 'ID', help: 'Refuse the device of this clientId.' },
        'valid-from': { type: 'string', value: 'T', help: 'Admit devices from T on (a date-time or a date; default: at once).' },
        'valid-until': { type: 'string', value: 'T', help: 'Admit devices until T (default: no end).' },
      },
      positionals: { min: 0, max: 0 },
      run: async (context, values) => {
        if (values.account === undefined) throw new UsageError('--account NAME is required');
        if (values.name === undefined) throw new UsageError('--name NAME is required');
        if (values.ca === undefined) throw new UsageError('--ca ID is required');
        const validFrom = dateTimeOption('valid-from', values['valid-from']);
        const validUntil = dateTimeOption('valid-until', values['valid-until']);
        const body: Schemas['NewEnrollmentGroup'] = {
          accountId: await context.accounts.idOf(values.account),
          name: values.name,
          manufacturerCaId: values.ca,
          ...(values.category !== undefined ? { category: values.category } : {}),
          ...(values.configuration !== undefined ? { configurationId: values.configuration } : {}),
          ...(values.bundle ? { bundleIds: values.bundle } : {}),
          ...(values.tag ? { tags: values.tag } : {}),
          ...(values.reprovision ? { reprovisionAllowed: true } : {}),
          ...(values['provision-broker-url'] !== undefined ? { provisionBrokerUrl: values['provision-broker-url'] } : {}),
          ...(values['allow-serial'] ? { allowSerials: values['allow-serial'] } : {}),
          ...(values['allow-client-id'] ? { allowClientIds: values['allow-client-id'] } : {}),
          ...(values['deny-serial'] ? { denySerials: values['deny-serial'] } : {}),
          ...(values['deny-client-id'] ? { denyClientIds: values['deny-client-id'] } : {}),
          ...(validFrom !== undefined ? { validFrom } : {}),
          ...(validUntil !== undefined ? { validUntil } : {}),
        };
        const client = context.api();
        printGroup(context, await client.call(client.client.POST('/api/v1/enrollment-groups', { body })));
      },
    }),
    enabledCommand('enable', 'Enable an enrollment group', enabledSwitch),
    enabledCommand('disable', 'Disable an enrollment group: it admits no device, and the provision-broker sessions it admitted end', enabledSwitch),
    defineCommand({
      name: 'delete',
      summary: 'Delete an enrollment group; the provision-broker sessions it admitted end (its requests and devices stay)',
      usage: 'ID',
      options: {},
      positionals: { min: 1, max: 1 },
      run: async ({ api, out }, _values, [id]) => {
        const client = api();
        await client.send(client.client.DELETE('/api/v1/enrollment-groups/{id}', { params: { path: { id: id! } } }));
        if (out.json) return printJson(out, { id, deleted: true });
        out.stdout(`deleted ${id}\n`);
      },
    }),
  ],
};
