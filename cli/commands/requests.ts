import type { Schemas } from '../api-client.ts';
import { defineCommand, type CommandContext, type CommandGroup } from '../command.ts';
import { UsageError } from '../exit-codes.ts';
import { choiceOption, dateTimeOption, integerOption, listOption, pageOptions, pageQuery, timeOption } from '../option-values.ts';
import { joined, printFields, printJson, printPageFooter, printTable, type Column } from '../output.ts';
import { importCommand } from './request-import.ts';

type ProvisionRequest = Schemas['ProvisionRequest'];

const statuses = ['ENABLED', 'DISABLED'] as const satisfies readonly ProvisionRequest['status'][];
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
] as const satisfies readonly ProvisionRequest['jobStatus'][];

async function requestColumns(context: CommandContext, requests: readonly ProvisionRequest[]): Promise<Column<ProvisionRequest>[]> {
  const accountNames = new Map<string, string>();
  for (const id of new Set(requests.map((request) => request.accountId))) accountNames.set(id, await context.accounts.nameOf(id));
  return [
    { header: 'ID', value: (request) => request.id },
    { header: 'ACCOUNT', value: (request) => accountNames.get(request.accountId) },
    { header: 'CLIENT ID', value: (request) => request.clientId },
    { header: 'STATUS', value: (request) => request.status },
    { header: 'JOB STATUS', value: (request) => request.jobStatus },
    { header: 'CATEGORY', value: (request) => request.category },
    { header: 'TAGS', value: (request) => joined(request.tags) },
    { header: 'EXPIRES', value: (request) => request.expiresOn },
  ];
}

function requestFields(request: ProvisionRequest): [string, string | number | boolean | null][] {
  return [
    ['id', request.id],
    ['account', request.accountId],
    ['clientId', request.clientId],
    ['username', request.username],
    ['status', request.status],
    ['jobStatus', request.jobStatus],
    ['category', request.category],
    ['tags', joined(request.tags)],
    ['activationKey', request.hasActivationKey ? 'required' : 'none'],
    ['retries', `${request.retryCount} of ${request.retryMaxAttempts}`],
    ['activatesOn', request.activatesOn],
    ['expiresOn', request.expiresOn],
  ];
}

/** disable, enable and delete: one request by id. */
function stateCommand(name: 'disable' | 'enable', summary: string) {
  return defineCommand({
    name,
    summary,
    usage: 'ID',
    options: {},
    positionals: { min: 1, max: 1 },
    run: async ({ api, out }, _values, [id]) => {
      const client = api();
      const path = name === 'enable' ? '/api/v1/provision-requests/{id}/enable' : '/api/v1/provision-requests/{id}/disable';
      const request = await client.call(client.client.POST(path, { params: { path: { id: id! } } }));
      if (out.json) return printJson(out, request);
      out.stdout(`${request.clientId}: ${request.status}\n`);
    },
  });
}

/** `provisio requests ...`: provision requests, the credentials a device may provision with once. */
export const requestsGroup: CommandGroup = {
  name: 'requests',
  summary: 'Provision requests: list, create one, import a CSV, disable, enable, delete',
  commands: [
    defineCommand({
      name: 'ls',
      summary: 'List provision requests, oldest first',
      usage: '[--account NAME] [--status S] [--job-status S] [--category C] [--client-id ID] [--since T] [--until T] [--limit N] [--offset N]',
      options: {
        account: { type: 'string', value: 'NAME', help: 'Only this account (name or id).' },
        status: { type: 'string', multiple: true, value: 'S', help: `${statuses.join(' or ')}; commas separate several.` },
        'job-status': { type: 'string', multiple: true, value: 'S', help: `${jobStatuses.join(', ')}; commas separate several.` },
        category: { type: 'string', value: 'C', help: 'Requests naming this category.' },
        'client-id': { type: 'string', multiple: true, value: 'ID', help: 'These clientIds; commas separate several.' },
        since: { type: 'string', value: 'T', help: 'Created at or after T: a date-time, a date or a time ago (7d, 2h).' },
        until: { type: 'string', value: 'T', help: 'Created at or before T.' },
        ...pageOptions,
      },
      positionals: { min: 0, max: 0 },
      run: async (context, values) => {
        const client = context.api();
        const status = listOption(values.status)?.map((value) => choiceOption('status', value, statuses));
        const jobStatus = listOption(values['job-status'])?.map((value) => choiceOption('job-status', value, jobStatuses));
        const clientId = listOption(values['client-id']);
        const startDate = timeOption('since', values.since);
        const endDate = timeOption('until', values.until);
        const accountId = await context.accounts.optionalIdOf(values.account);
        const query = {
          ...(accountId !== undefined ? { accountId } : {}),
          ...(status ? { status } : {}),
          ...(jobStatus ? { jobStatus } : {}),
          ...(clientId ? { clientId } : {}),
          ...(values.category !== undefined ? { category: values.category } : {}),
          ...(startDate !== undefined ? { startDate } : {}),
          ...(endDate !== undefined ? { endDate } : {}),
          ...pageQuery(values),
        };
        const page = await client.call(client.client.GET('/api/v1/provision-requests', { params: { query } }));
        if (context.out.json) return printJson(context.out, page);
        printTable(context.out, page.items, await requestColumns(context, page.items));
        printPageFooter(context.out, page);
      },
    }),
    defineCommand({
      name: 'show',
      summary: 'Show one provision request',
      usage: 'ID',
      options: {},
      positionals: { min: 1, max: 1 },
      run: async ({ api, out }, _values, [id]) => {
        const client = api();
        const request = await client.call(client.client.GET('/api/v1/provision-requests/{id}', { params: { path: { id: id! } } }));
        if (out.json) return printJson(out, request);
        printFields(out, requestFields(request));
      },
    }),
    defineCommand({
      name: 'create',
      summary: 'Create a provision request: its credentials are printed once, keep them',
      usage: '--account NAME --client-id ID [--category C] [--tag T]... [--generate-activation-key] [more options]',
      details:
        'The answer holds the device password (and activation key): the platform keeps only their hashes, so this is\n' +
        'the one time they are shown. --json prints them in the API JSON.',
      options: {
        account: { type: 'string', value: 'NAME', help: 'The account (name or id). Required.' },
        'client-id': { type: 'string', value: 'ID', help: "The device's MQTT clientId. Required." },
        category: { type: 'string', value: 'C', help: 'The category the device goes into.' },
        tag: { type: 'string', multiple: true, value: 'T', help: 'A tag the device gets.' },
        'generate-activation-key': { type: 'boolean', help: 'Generate an activation key the device must send with its request.' },
        username: { type: 'string', value: 'U', help: 'MQTT user name (default: the clientId).' },
        configuration: { type: 'string', value: 'ID', help: 'A configuration of the account to send (default: the category one, else the account template).' },
        bundle: { type: 'string', multiple: true, value: 'ID', help: 'A bundle of the account to install.' },
        'expires-on': { type: 'string', value: 'T', help: 'Not valid after T (a date-time or a date; default: the platform default).' },
        'retry-max-attempts': { type: 'string', value: 'N', help: 'Provisioning attempts the device may make (default 5).' },
        overwrite: { type: 'boolean', help: "Replace the account's request for this clientId instead of failing with 409." },
      },
      positionals: { min: 0, max: 0 },
      run: async (context, values) => {
        const { out } = context;
        if (values.account === undefined) throw new UsageError('--account NAME is required');
        if (values['client-id'] === undefined) throw new UsageError('--client-id ID is required');
        const expiresOn = dateTimeOption('expires-on', values['expires-on']);
        const retryMaxAttempts = integerOption('retry-max-attempts', values['retry-max-attempts'], { min: 1, max: 1000 });
        const client = context.api();
        const body: Schemas['NewProvisionRequest'] = {
          accountId: await context.accounts.idOf(values.account),
          clientId: values['client-id'],
          ...(values.category !== undefined ? { category: values.category } : {}),
          ...(values.tag ? { tags: values.tag } : {}),
          ...(values['generate-activation-key'] ? { generateActivationKey: true } : {}),
          ...(values.username !== undefined ? { username: values.username } : {}),
          ...(values.configuration !== undefined ? { configurationId: values.configuration } : {}),
          ...(values.bundle ? { bundleIds: values.bundle } : {}),
          ...(expiresOn !== undefined ? { expiresOn } : {}),
          ...(retryMaxAttempts !== undefined ? { retryMaxAttempts } : {}),
          ...(values.overwrite ? { overwriteIfDuplicate: true } : {}),
        };
        const created = await client.call(client.client.POST('/api/v1/provision-requests', { body }));
        out.stderr('provisio: the credentials below are shown this once (the platform keeps only hashes): store them now.\n');
        if (out.json) return printJson(out, created);
        printFields(out, [
          ['id', created.id],
          ['clientId', created.clientId],
          ['username', created.credentials.username],
          ['password', created.credentials.password],
          ['activationKey', created.credentials.activationKey ?? null],
          ['expiresOn', created.expiresOn],
        ]);
      },
    }),
    importCommand,
    stateCommand('disable', 'Disable a provision request (a device provisioning with it is refused)'),
    stateCommand('enable', 'Enable a disabled provision request'),
    defineCommand({
      name: 'delete',
      summary: 'Delete a provision request',
      usage: 'ID',
      options: {},
      positionals: { min: 1, max: 1 },
      run: async ({ api, out }, _values, [id]) => {
        const client = api();
        await client.send(client.client.DELETE('/api/v1/provision-requests/{id}', { params: { path: { id: id! } } }));
        if (out.json) return printJson(out, { id, deleted: true });
        out.stdout(`deleted ${id}\n`);
      },
    }),
  ],
};
