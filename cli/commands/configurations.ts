import type { Schemas } from '../api-client.ts';
import { defineCommand, type CommandContext, type CommandGroup } from '../command.ts';
import { UsageError } from '../exit-codes.ts';
import { integerOption, pageOptions, pageQuery } from '../option-values.ts';
import { printFields, printJson, printPageFooter, printTable, type Column } from '../output.ts';

const configurationColumns: readonly Column<Schemas['Configuration']>[] = [
  { header: 'ID', value: (configuration) => configuration.id },
  { header: 'NAME', value: (configuration) => configuration.name },
  { header: 'VERSION', value: (configuration) => configuration.version },
  { header: 'MODIFIED', value: (configuration) => configuration.modifiedOn },
];

/** The JSON object of --file (a path, or - for standard input). */
async function contentOf(context: CommandContext, file: string | undefined): Promise<Record<string, unknown>> {
  if (file === undefined) throw new UsageError('--file FILE.json is required');
  let content: unknown;
  try {
    content = JSON.parse(await context.readFile(file));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${file} is not JSON: ${(error as Error).message}`);
  }
  if (content === null || typeof content !== 'object' || Array.isArray(content)) throw new UsageError(`${file} must hold a JSON object`);
  return content as Record<string, unknown>;
}

function printConfiguration(context: CommandContext, configuration: Schemas['Configuration']): void {
  if (context.out.json) return printJson(context.out, configuration);
  printFields(context.out, [
    ['id', configuration.id],
    ['name', configuration.name],
    ['version', configuration.version],
    ['modifiedOn', configuration.modifiedOn],
  ]);
}

/** `provisio configurations ...`: the configurations sent to devices, versioned. */
export const configurationsGroup: CommandGroup = {
  name: 'configurations',
  summary: 'Device configurations of an account: list, create, edit (a new version, pushed to online devices)',
  commands: [
    defineCommand({
      name: 'ls',
      summary: 'List the configurations of an account',
      usage: '--account NAME [--limit N] [--offset N]',
      details: 'With the admin token --account is required; an account token sees its own.',
      options: { account: { type: 'string', value: 'NAME', help: 'The account (name or id).' }, ...pageOptions },
      positionals: { min: 0, max: 0 },
      run: async (context, values) => {
        const accountId = await context.accounts.optionalIdOf(values.account);
        const client = context.api();
        const query = { ...(accountId !== undefined ? { accountId } : {}), ...pageQuery(values) };
        const page = await client.call(client.client.GET('/api/v1/configurations', { params: { query } }));
        if (context.out.json) return printJson(context.out, page);
        printTable(context.out, page.items, configurationColumns);
        printPageFooter(context.out, page);
      },
    }),
    defineCommand({
      name: 'show',
      summary: 'Print the content of a configuration (--json: with its id, name and version)',
      usage: 'ID',
      options: {},
      positionals: { min: 1, max: 1 },
      run: async (context, _values, [id]) => {
        const client = context.api();
        const configuration = await client.call(client.client.GET('/api/v1/configurations/{id}', { params: { path: { id: id! } } }));
        printJson(context.out, context.out.json ? configuration : configuration.content);
      },
    }),
    defineCommand({
      name: 'create',
      summary: 'Create a configuration from a JSON file',
      usage: 'NAME --account NAME --file FILE.json',
      options: {
        account: { type: 'string', value: 'NAME', help: 'The account (name or id). Required.' },
        file: { type: 'string', value: 'FILE', help: 'The content: a JSON object (- reads standard input). Required.' },
      },
      positionals: { min: 1, max: 1 },
      run: async (context, values, [name]) => {
        if (values.account === undefined) throw new UsageError('--account NAME is required');
        const content = await contentOf(context, values.file);
        const client = context.api();
        const body: Schemas['NewConfiguration'] = { accountId: await context.accounts.idOf(values.account), name: name!, content };
        printConfiguration(context, await client.call(client.client.POST('/api/v1/configurations', { body })));
      },
    }),
    defineCommand({
      name: 'edit',
      summary: 'Replace the content of a configuration: its next version, sent at once to the online devices holding it',
      usage: 'ID --file FILE.json [--version N]',
      details:
        'Without --version the current version is read first; with it, the edit is refused (409, exit code 1)\n' + 'when another edit came after version N.',
      options: {
        file: { type: 'string', value: 'FILE', help: 'The new content: a JSON object (- reads standard input). Required.' },
        version: { type: 'string', value: 'N', help: 'The version the edit starts from.' },
      },
      positionals: { min: 1, max: 1 },
      run: async (context, values, [id]) => {
        const content = await contentOf(context, values.file);
        let version = integerOption('version', values.version, { min: 1, max: Number.MAX_SAFE_INTEGER });
        const client = context.api();
        const path = { id: id! };
        version ??= (await client.call(client.client.GET('/api/v1/configurations/{id}', { params: { path } }))).version;
        printConfiguration(context, await client.call(client.client.PATCH('/api/v1/configurations/{id}', { params: { path }, body: { version, content } })));
      },
    }),
  ],
};
