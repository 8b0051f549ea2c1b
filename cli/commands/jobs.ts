import type { Schemas } from '../api-client.ts';
import { defineCommand, type CommandGroup } from '../command.ts';
import { UsageError } from '../exit-codes.ts';
import { choiceOption, integerOption, listOption, pageOptions, pageQuery } from '../option-values.ts';
import { joined, printFields, printJson, printPageFooter, printTable, type Column } from '../output.ts';

type UpdateJob = Schemas['UpdateJob'];

const jobStates = ['RUNNING', 'PAUSED', 'CANCELLED', 'STOPPED'] as const satisfies readonly UpdateJob['state'][];

/** Which devices a job is for, in a few words. */
function target(job: UpdateJob): string {
  const parts = [
    job.category !== null ? `category ${job.category}` : '',
    job.tags.length > 0 ? `tags ${joined(job.tags)}` : '',
    job.clientIds.length > 0 ? `${job.clientIds.length} clientId(s)` : '',
  ].filter((part) => part !== '');
  return parts.length > 0 ? parts.join(', ') : 'every device';
}

const jobColumns: readonly Column<UpdateJob>[] = [
  { header: 'ID', value: (job) => job.id },
  { header: 'NAME', value: (job) => job.name },
  { header: 'STATE', value: (job) => job.state },
  { header: 'TARGET', value: (job) => target(job) },
  { header: 'BUNDLES', value: (job) => joined(job.bundleIds) },
  { header: 'CONFIGURATION', value: (job) => job.configurationId },
  { header: 'CREATED', value: (job) => job.createdOn },
];

function jobFields(job: Schemas['UpdateJobDetail']): [string, string | number | null][] {
  return [
    ['id', job.id],
    ['name', job.name],
    ['state', job.state],
    ['target', target(job)],
    ['bundles', joined(job.bundleIds)],
    ['configuration', job.configurationId],
    ['matchingDevices', job.matchingDevices],
    [
      'progress',
      Object.entries(job.counts)
        .map(([state, count]) => `${state} ${count}`)
        .join(', '),
    ],
  ];
}

/** pause, resume and cancel: one job by id. */
function stateCommand(name: 'pause' | 'resume' | 'cancel', summary: string) {
  return defineCommand({
    name,
    summary,
    usage: 'ID',
    options: {},
    positionals: { min: 1, max: 1 },
    run: async ({ api, out }, _values, [id]) => {
      const client = api();
      const params = { params: { path: { id: id! } } };
      const pending =
        name === 'pause'
          ? client.client.POST('/api/v1/update-jobs/{id}/pause', params)
          : name === 'resume'
            ? client.client.POST('/api/v1/update-jobs/{id}/resume', params)
            : client.client.POST('/api/v1/update-jobs/{id}/cancel', params);
      const job = await client.call(pending);
      if (out.json) return printJson(out, job);
      out.stdout(`${job.name}: ${job.state}\n`);
    },
  });
}

/** `provisio jobs ...`: update jobs, bundles and a configuration sent to a set of devices. */
export const jobsGroup: CommandGroup = {
  name: 'jobs',
  summary: 'Update jobs (bundles and a configuration for a set of devices): list, create, show, pause, resume, cancel',
  commands: [
    defineCommand({
      name: 'ls',
      summary: 'List update jobs',
      usage: '[--account NAME] [--state S] [--limit N] [--offset N]',
      options: {
        account: { type: 'string', value: 'NAME', help: 'Only this account (name or id).' },
        state: { type: 'string', value: 'S', help: `${jobStates.join(', ')}.` },
        ...pageOptions,
      },
      positionals: { min: 0, max: 0 },
      run: async (context, values) => {
        const state = values.state === undefined ? undefined : choiceOption('state', values.state, jobStates);
        const accountId = await context.accounts.optionalIdOf(values.account);
        const client = context.api();
        const query = { ...(accountId !== undefined ? { accountId } : {}), ...(state !== undefined ? { state } : {}), ...pageQuery(values) };
        const page = await client.call(client.client.GET('/api/v1/update-jobs', { params: { query } }));
        if (context.out.json) return printJson(context.out, page);
        printTable(context.out, page.items, jobColumns);
        printPageFooter(context.out, page);
      },
    }),
    defineCommand({
      name: 'create',
      summary: 'Create an update job: it starts RUNNING, sent to the matching devices as they are online',
      usage: 'NAME --account NAME [--category C] [--tag T]... [--client-id ID]... [--bundle ID]... [--configuration ID] [--failure-threshold N]',
      details: 'The devices: those of the category, with every tag, among the clientIds (each given filter narrows; none: every device of the account).',
      options: {
        account: { type: 'string', value: 'NAME', help: 'The account (name or id). Required.' },
        category: { type: 'string', value: 'C', help: 'Devices of this category.' },
        tag: { type: 'string', multiple: true, value: 'T', help: 'Devices carrying this tag.' },
        'client-id': { type: 'string', multiple: true, value: 'ID', help: 'These devices; commas separate several.' },
        bundle: { type: 'string', multiple: true, value: 'ID', help: 'A bundle to install.' },
        configuration: { type: 'string', value: 'ID', help: 'The configuration to apply.' },
        'failure-threshold': { type: 'string', value: 'N', help: 'Stop the job after N devices failed.' },
      },
      positionals: { min: 1, max: 1 },
      run: async (context, values, [name]) => {
        if (values.account === undefined) throw new UsageError('--account NAME is required');
        const failureThreshold = integerOption('failure-threshold', values['failure-threshold'], { min: 1, max: 1_000_000 });
        const clientIds = listOption(values['client-id']);
        const body: Schemas['NewUpdateJob'] = {
          accountId: await context.accounts.idOf(values.account),
          name: name!,
          ...(values.category !== undefined ? { category: values.category } : {}),
          ...(values.tag ? { tags: values.tag } : {}),
          ...(clientIds ? { clientIds } : {}),
          ...(values.bundle ? { bundleIds: values.bundle } : {}),
          ...(values.configuration !== undefined ? { configurationId: values.configuration } : {}),
          ...(failureThreshold !== undefined ? { failureThreshold } : {}),
        };
        const client = context.api();
        const job = await client.call(client.client.POST('/api/v1/update-jobs', { body }));
        if (context.out.json) return printJson(context.out, job);
        printFields(context.out, jobFields(job));
      },
    }),
    defineCommand({
      name: 'show',
      summary: 'Show an update job and how far it got',
      usage: 'ID',
      options: {},
      positionals: { min: 1, max: 1 },
      run: async ({ api, out }, _values, [id]) => {
        const client = api();
        const job = await client.call(client.client.GET('/api/v1/update-jobs/{id}', { params: { path: { id: id! } } }));
        if (out.json) return printJson(out, job);
        printFields(out, jobFields(job));
      },
    }),
    stateCommand('pause', 'Pause a running job (devices already sent it carry on)'),
    stateCommand('resume', 'Resume a paused job'),
    stateCommand('cancel', 'Cancel a job for good'),
  ],
};
