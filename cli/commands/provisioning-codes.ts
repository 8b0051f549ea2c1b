import { open, rm, type FileHandle } from 'node:fs/promises';
import type { Schemas } from '../api-client.ts';
import { defineCommand, type CommandContext, type CommandGroup } from '../command.ts';
import { UsageError } from '../exit-codes.ts';
import { choiceOption, integerOption, pageOptions, pageQuery } from '../option-values.ts';
import { printJson, printPageFooter, printTable, type Column } from '../output.ts';
import { provisioningCodesCsv } from '../provisioning-codes-csv.ts';

type ProvisioningCode = Schemas['ProvisioningCode'];

const codeStatuses = ['PENDING', 'REGISTERED'] as const satisfies readonly ProvisioningCode['status'][];

async function codeColumns(context: CommandContext, codes: readonly ProvisioningCode[]): Promise<Column<ProvisioningCode>[]> {
  const accountNames = new Map<string, string>();
  for (const id of new Set(codes.map((code) => code.accountId))) accountNames.set(id, await context.accounts.nameOf(id));
  return [
    { header: 'ID', value: (code) => code.id },
    { header: 'ACCOUNT', value: (code) => accountNames.get(code.accountId) },
    { header: 'CATEGORY', value: (code) => code.category },
    { header: 'STATUS', value: (code) => code.status },
    { header: 'CLIENT ID', value: (code) => code.clientId },
    { header: 'EXPIRES', value: (code) => code.expiresOn },
    { header: 'REGISTERED', value: (code) => code.registeredOn },
  ];
}

/**
 * The --csv file, made before anything is sent: a path that cannot be written is a usage error
 * (exit 2) while no code exists yet, rather than codes made and lost. Created new (an existing
 * file is not overwritten) and readable by its owner only, as the codes are bearer secrets.
 */
async function createCodesFile(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'wx', 0o600);
  } catch (error) {
    const exists = (error as NodeJS.ErrnoException).code === 'EEXIST';
    throw new UsageError(exists ? `${path} exists: the codes go into a new file only` : `cannot create ${path}: ${(error as Error).message}`);
  }
}

/**
 * `provisio codes create`: the codes are in the API's answer only (the platform keeps a keyed
 * hash), so they are printed, or with --csv written to a new file mode 0600 and printed nowhere.
 */
const createCommand = defineCommand({
  name: 'create',
  summary: 'Make provisioning codes for an account and category: shown once (or written to a CSV file), keep them',
  usage: '--account NAME --count N [--category C] [--validity-days D] [--csv FILE]',
  details: [
    'A person types a code into a device, which then provisions into the account and category (PROTOCOL.md §18).',
    'The platform keeps only a keyed hash of each code: this is the one time they are shown. A lost code cannot be',
    'shown again: delete it and make another.',
    '',
    '--csv FILE: a new file (never overwritten), mode 0600, with id,code,accountId,category,expiresOn as agent-sim',
    '--codes-file reads it; the codes are then not printed (--json prints the answer without them).',
  ].join('\n'),
  options: {
    account: { type: 'string', value: 'NAME', help: 'The account (name or id). Required.' },
    count: { type: 'string', value: 'N', help: 'How many codes (1-1000). Required.' },
    category: { type: 'string', value: 'C', help: 'The category the devices get (default: none).' },
    'validity-days': { type: 'string', value: 'D', help: 'Days until an unused code expires and is deleted (1-31; default: the platform default, 7).' },
    csv: { type: 'string', value: 'FILE', help: 'Write the codes to this new file (mode 0600) instead of printing them.' },
  },
  positionals: { min: 0, max: 0 },
  run: async (context, values) => {
    const { out } = context;
    if (values.account === undefined) throw new UsageError('--account NAME is required');
    if (values.count === undefined) throw new UsageError('--count N is required');
    const count = integerOption('count', values.count, { min: 1, max: 1000 })!;
    const validityDays = integerOption('validity-days', values['validity-days'], { min: 1, max: 31 });
    const accountId = await context.accounts.idOf(values.account);
    const body: Schemas['NewProvisioningCodes'] = {
      accountId,
      count,
      ...(values.category !== undefined ? { category: values.category } : {}),
      ...(validityDays !== undefined ? { validityDays } : {}),
    };
    const file = values.csv === undefined ? undefined : await createCodesFile(values.csv);
    const client = context.api();
    let created: Schemas['CreatedProvisioningCodes'];
    try {
      created = await client.call(client.client.POST('/api/v1/provisioning-codes', { body }));
    } catch (error) {
      if (file) {
        await file.close();
        await rm(values.csv!, { force: true });
      }
      throw error;
    }
    if (file) {
      try {
        await file.writeFile(provisioningCodesCsv(created.items));
      } finally {
        await file.close();
      }
      if (out.json) return printJson(out, { csv: values.csv, items: created.items.map(({ code: _code, ...item }) => item) });
      out.stdout(`wrote ${created.items.length} code(s) to ${values.csv} (mode 0600): they are shown nowhere else, keep the file safe\n`);
      return;
    }
    out.stderr('provisio: the codes below are shown this once (the platform keeps only hashes): store them now.\n');
    if (out.json) return printJson(out, created);
    printTable(out, created.items, [
      { header: 'ID', value: (code) => code.id },
      { header: 'CODE', value: (code) => code.code },
      { header: 'CATEGORY', value: (code) => code.category },
      { header: 'EXPIRES', value: (code) => code.expiresOn },
    ]);
  },
});

/** `provisio codes ...`: provisioning codes, 12 digits a person types into a device (issue 18). */
export const codesGroup: CommandGroup = {
  name: 'codes',
  summary: 'Provisioning codes a person types into a device: create (shown once, or a CSV file), list, delete',
  commands: [
    defineCommand({
      name: 'ls',
      summary: 'List provisioning codes (never the code itself), oldest first: PENDING, or REGISTERED with the device that used it',
      usage: '--account NAME [--status PENDING|REGISTERED] [--limit N] [--offset N]',
      details: 'With the admin token --account may be left out (every account); an account token sees its own.',
      options: {
        account: { type: 'string', value: 'NAME', help: 'The account (name or id).' },
        status: { type: 'string', value: 'S', help: `${codeStatuses.join(' or ')}.` },
        ...pageOptions,
      },
      positionals: { min: 0, max: 0 },
      run: async (context, values) => {
        const status = values.status === undefined ? undefined : choiceOption('status', values.status, codeStatuses);
        const query = { ...(status !== undefined ? { status } : {}), ...pageQuery(values) };
        const accountId = await context.accounts.optionalIdOf(values.account);
        const client = context.api();
        const page = await client.call(
          client.client.GET('/api/v1/provisioning-codes', { params: { query: { ...(accountId !== undefined ? { accountId } : {}), ...query } } }),
        );
        if (context.out.json) return printJson(context.out, page);
        printTable(context.out, page.items, await codeColumns(context, page.items));
        printPageFooter(context.out, page);
      },
    }),
    createCommand,
    defineCommand({
      name: 'delete',
      summary: 'Delete a provisioning code: unused, it admits no device; used, its record goes',
      usage: 'ID',
      options: {},
      positionals: { min: 1, max: 1 },
      run: async ({ api, out }, _values, [id]) => {
        const client = api();
        await client.send(client.client.DELETE('/api/v1/provisioning-codes/{id}', { params: { path: { id: id! } } }));
        if (out.json) return printJson(out, { id, deleted: true });
        out.stdout(`deleted ${id}\n`);
      },
    }),
  ],
};
