import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiClient, Schemas } from '../api-client.ts';
import { defineCommand, type CommandContext } from '../command.ts';
import { credentialsCsv, deviceCsvColumns, parseDevicesCsv, type DeviceCsvRow } from '../devices-csv.ts';
import { exitCodes, RefusedError, UsageError } from '../exit-codes.ts';
import { printable, printJson, printProblem } from '../output.ts';

/** The API's largest batch (ProvisionRequestBatch's maxItems). */
const batchSize = 1000;
/** Tries of a batch answered 429 (other batches running) before giving up. */
const overloadedTries = 10;

interface ImportResult {
  readonly created: Schemas['CreatedProvisionRequest'][];
  readonly failed: { readonly line: number; readonly clientId: string; readonly problem: Schemas['Problem'] }[];
}

/** One batch, tried again while the API answers 429 (it runs a few batches at a time). */
async function postBatch(client: ApiClient, requests: Schemas['NewProvisionRequest'][], signal: AbortSignal): Promise<Schemas['ProvisionRequestBatchResult']> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await client.call(client.client.POST('/api/v1/provision-requests/batch', { body: { requests } }));
    } catch (error) {
      if (!(error instanceof RefusedError) || error.status !== 429 || attempt >= overloadedTries) throw error;
      await sleep(Math.min(error.retryAfterSeconds ?? 1, 10) * 1000, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) throw error;
    }
  }
}

/**
 * The requests of `rows`, in batches of the API's largest size, one after another. A batch the
 * API refuses as a whole ends the import: what earlier batches created is still answered, so its
 * credentials are not lost.
 */
async function importRows(context: CommandContext, rows: readonly DeviceCsvRow[], defaults: Partial<Schemas['NewProvisionRequest']>, account?: string) {
  const client = context.api();
  const requests: Schemas['NewProvisionRequest'][] = [];
  for (const row of rows) {
    const accountName = row.account ?? account;
    if (accountName === undefined) throw new UsageError(`line ${row.line}: no account: give --account NAME or an account column`);
    requests.push({ ...defaults, ...row.request, accountId: await context.accounts.idOf(accountName) });
  }
  const result: ImportResult = { created: [], failed: [] };
  let refusal: unknown;
  for (let start = 0; start < requests.length && refusal === undefined; start += batchSize) {
    try {
      const batch = await postBatch(client, requests.slice(start, start + batchSize), context.signal);
      result.created.push(...batch.created);
      for (const failure of batch.failed) {
        const row = rows[start + failure.index]!;
        result.failed.push({ line: row.line, clientId: failure.clientId, problem: failure.problem });
      }
    } catch (error) {
      refusal = error;
    }
  }
  return { result, refusal };
}

/**
 * `provisio requests import FILE.csv > credentials.csv`: a provision request per line of a devices
 * CSV, through POST /api/v1/provision-requests/batch (JSON: the CLI reads the CSV, so each bad line
 * is named before anything is sent). Prints the credentials CSV of the created requests on stdout
 * and each line the API refused on stderr.
 */
export const importCommand = defineCommand({
  name: 'import',
  summary: 'Create a provision request per line of a devices CSV; prints the credentials CSV',
  usage: 'FILE.csv|- [--account NAME] [--category C] [--tag T]... [--generate-activation-key] > credentials.csv',
  details: [
    `The first line names the columns: ${deviceCsvColumns.join(', ')}.`,
    'Only clientId is required; tags and bundleIds are separated by ";"; account is a name or an id',
    '(default --account). Empty cells take the defaults below, then the API defaults.',
    '',
    'stdout: clientId,username,password,activationKey of every created request (shown this once: the',
    'platform keeps only hashes), as agent-sim --credentials reads it; --json: the API batch results.',
    'Exit code 1 when any line was refused (each is printed on stderr with its line number).',
  ].join('\n'),
  options: {
    account: { type: 'string', value: 'NAME', help: 'The account of lines without an account column.' },
    category: { type: 'string', value: 'C', help: 'The category of lines without one.' },
    tag: { type: 'string', multiple: true, value: 'T', help: 'Tags of lines without a tags column.' },
    'generate-activation-key': { type: 'boolean', help: 'Generate an activation key for lines without a generateActivationKey column.' },
    delimiter: { type: 'string', value: 'CHAR', help: 'The field delimiter (default ",").' },
  },
  positionals: { min: 1, max: 1 },
  run: async (context, values, [file]) => {
    const { out } = context;
    if (values.delimiter !== undefined && values.delimiter.length !== 1) throw new UsageError('--delimiter must be one character');
    const rows = parseDevicesCsv(await context.readFile(file!), values.delimiter);
    const defaults: Partial<Schemas['NewProvisionRequest']> = {
      ...(values.category !== undefined ? { category: values.category } : {}),
      ...(values.tag ? { tags: values.tag } : {}),
      ...(values['generate-activation-key'] ? { generateActivationKey: true } : {}),
    };
    const { result, refusal } = await importRows(context, rows, defaults, values.account);
    if (result.created.length > 0)
      out.stderr(`provisio: ${result.created.length} request(s) created; their credentials are shown this once: store them now.\n`);
    // With --json stdout is one JSON document, whatever happened: a batch refused as a whole is in it.
    if (out.json) printJson(out, refusal instanceof RefusedError ? { ...result, refused: refusal.problem } : result);
    else if (result.created.length > 0) out.stdout(credentialsCsv(result.created));
    for (const failure of result.failed) {
      const { problem } = failure;
      out.stderr(`provisio: line ${failure.line} (${printable(failure.clientId)}): ${printable(problem.detail ?? problem.title)} (${problem.code})\n`);
    }
    if (refusal !== undefined) {
      const done = result.created.length + result.failed.length;
      if (done > 0) out.stderr(`provisio: the import stopped after ${done} of ${rows.length} line(s)\n`);
      if (!(refusal instanceof RefusedError) || !out.json) throw refusal;
      printProblem(out, refusal.status, refusal.problem);
      return exitCodes.refused;
    }
    return result.failed.length > 0 ? exitCodes.refused : exitCodes.ok;
  },
});
