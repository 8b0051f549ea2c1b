import { defineCommand } from '../command.ts';
import { credentialsCsv } from '../credentials-csv.ts';
import { exitCodes, UsageError } from '../exit-codes.ts';
import { printable, printJson } from '../output.ts';

const delimiters = [',', ';'] as const;

/**
 * `provisio requests import FILE.csv > credentials.csv`: the file goes as it is to POST
 * /api/v1/provision-requests/batch (Content-Type: text/csv), so the columns, their rules and the
 * row-numbered findings are the API's own, and a CSV batch is all or nothing: one bad row and no
 * request is created. Prints the credentials CSV of the created requests on stdout.
 */
export const importCommand = defineCommand({
  name: 'import',
  summary: 'Create a provision request per row of a devices CSV (all or nothing); prints the credentials CSV',
  usage: 'FILE.csv|- [--account NAME] [--delimiter ,|;] > credentials.csv',
  details: [
    'The header row names the columns: fields of a provision request as the API takes them (clientId',
    'required; category, tags, username, generateActivationKey, expiresOn, ...; lists such as tags are',
    'separated by ";"; an accountId column, or --account for every row). At most 1,000 rows a file.',
    'A file with a bad row creates nothing: the API names each bad row and column (exit code 1).',
    '',
    'stdout: clientId,username,password,activationKey of every created request, as agent-sim --credentials',
    'reads it. The passwords are shown this once (the platform keeps only hashes). --json: the API batch result.',
  ].join('\n'),
  options: {
    account: { type: 'string', value: 'NAME', help: 'The account of every row (name or id), for a file without an accountId column.' },
    delimiter: { type: 'string', value: 'CHAR', help: 'The field delimiter, , or ; (default: the API detects it from the header row).' },
  },
  positionals: { min: 1, max: 1 },
  run: async (context, values, [file]) => {
    const { out } = context;
    const delimiter = values.delimiter === undefined ? undefined : delimiters.find((candidate) => candidate === values.delimiter);
    if (values.delimiter !== undefined && delimiter === undefined) throw new UsageError(`--delimiter must be , or ;, not '${values.delimiter}'`);
    const csv = await context.readFile(file!);
    const accountId = await context.accounts.optionalIdOf(values.account);
    const client = context.api();
    const result = await client.call(
      client.client.POST('/api/v1/provision-requests/batch', {
        params: { query: { ...(accountId !== undefined ? { accountId } : {}), ...(delimiter !== undefined ? { delimiter } : {}) } },
        body: csv,
        bodySerializer: (body) => body,
        headers: { 'Content-Type': 'text/csv; charset=utf-8', Accept: 'application/json' },
      }),
    );
    if (result.created.length > 0)
      out.stderr(`provisio: ${result.created.length} request(s) created; their credentials are shown this once: store them now.\n`);
    if (out.json) printJson(out, result);
    else if (result.created.length > 0) out.stdout(credentialsCsv(result.created));
    // A row the API checked but that failed at creation (a concurrent change took its clientId).
    for (const failure of result.failed) {
      const { problem } = failure;
      out.stderr(`provisio: row ${failure.index + 1} (${printable(failure.clientId)}): ${printable(problem.detail ?? problem.title)} (${problem.code})\n`);
    }
    return result.failed.length > 0 ? exitCodes.refused : exitCodes.ok;
  },
});
