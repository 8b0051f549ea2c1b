import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { Schemas } from './api-client.ts';
import { UsageError } from './exit-codes.ts';

/**
 * The devices CSV `provisio requests import` reads: a header row naming the columns, one device a
 * line. Only clientId is required; the names are those of the API's NewProvisionRequest, so a
 * spreadsheet column means what the API field means. Lists (tags, bundleIds) are ';'-separated,
 * as in the API's devices.csv export. Parsed by csv-parse (quoting, a BOM, CRLF); every bad line
 * is reported with its line number before anything is sent.
 */
export const deviceCsvColumns = [
  'clientId',
  'account',
  'username',
  'password',
  'category',
  'tags',
  'configurationId',
  'bundleIds',
  'generateActivationKey',
  'activatesOn',
  'expiresOn',
  'retryMaxAttempts',
] as const;

type DeviceCsvColumn = (typeof deviceCsvColumns)[number];

/** One line of the file: the request to make (its accountId still to resolve from `account`). */
export interface DeviceCsvRow {
  /** The file's line number, for messages. */
  readonly line: number;
  /** The account column (name or id), when there is one. */
  readonly account?: string;
  readonly request: Omit<Schemas['NewProvisionRequest'], 'accountId'>;
}

function list(value: string): string[] {
  return value
    .split(';')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function booleanCell(value: string): boolean {
  const word = value.toLowerCase();
  if (['true', 'yes', '1'].includes(word)) return true;
  if (['false', 'no', '0'].includes(word)) return false;
  throw new Error(`generateActivationKey must be true or false, not '${value}'`);
}

function dateTimeCell(column: string, value: string): string {
  const time = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(time)) throw new Error(`${column} must be a date-time or a date, not '${value}'`);
  return new Date(time).toISOString();
}

function rowOf(cells: Partial<Record<DeviceCsvColumn, string>>, line: number): DeviceCsvRow {
  const { clientId, account, username, password, category, tags, configurationId, bundleIds, generateActivationKey, activatesOn, expiresOn, retryMaxAttempts } =
    cells;
  if (!clientId) throw new Error('clientId is empty');
  if (retryMaxAttempts && !/^\d+$/.test(retryMaxAttempts)) throw new Error(`retryMaxAttempts must be a whole number, not '${retryMaxAttempts}'`);
  return {
    line,
    ...(account ? { account } : {}),
    request: {
      clientId,
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      ...(category ? { category } : {}),
      ...(tags ? { tags: list(tags) } : {}),
      ...(configurationId ? { configurationId } : {}),
      ...(bundleIds ? { bundleIds: list(bundleIds) } : {}),
      ...(generateActivationKey ? { generateActivationKey: booleanCell(generateActivationKey) } : {}),
      ...(activatesOn ? { activatesOn: dateTimeCell('activatesOn', activatesOn) } : {}),
      ...(expiresOn ? { expiresOn: dateTimeCell('expiresOn', expiresOn) } : {}),
      ...(retryMaxAttempts ? { retryMaxAttempts: Number(retryMaxAttempts) } : {}),
    },
  };
}

/** The header's columns, matched case-insensitively; an unknown or repeated one is a UsageError. */
function headerColumns(header: readonly string[]): DeviceCsvColumn[] {
  const seen = new Set<DeviceCsvColumn>();
  return header.map((name) => {
    const column = deviceCsvColumns.find((known) => known.toLowerCase() === name.trim().toLowerCase());
    if (!column) throw new UsageError(`line 1: unknown column '${name}' (known: ${deviceCsvColumns.join(', ')}; the first line names the columns)`);
    if (seen.has(column)) throw new UsageError(`line 1: column '${column}' appears twice`);
    seen.add(column);
    return column;
  });
}

/** The devices of a CSV file; every bad line (and a clientId named twice) reported at once as a UsageError. */
export function parseDevicesCsv(text: string, delimiter = ','): DeviceCsvRow[] {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    // With `info`, each record comes as { record, info } (csv-parse's types do not say so).
    records = parse(text, { bom: true, delimiter, trim: true, skip_empty_lines: true, relax_column_count: false, info: true }) as unknown as typeof records;
  } catch (error) {
    throw new UsageError(`the CSV cannot be read: ${(error as Error).message}`);
  }
  const [header, ...lines] = records;
  if (!header) throw new UsageError('the CSV is empty: its first line names the columns (at least clientId)');
  const columns = headerColumns(header.record);
  if (!columns.includes('clientId')) throw new UsageError(`the CSV has no clientId column (its first line names the columns: ${deviceCsvColumns.join(', ')})`);
  const rows: DeviceCsvRow[] = [];
  const errors: string[] = [];
  const lineOfClientId = new Map<string, number>();
  for (const { record, info } of lines) {
    const cells: Partial<Record<DeviceCsvColumn, string>> = {};
    columns.forEach((column, index) => {
      const value = record[index];
      if (value !== undefined && value !== '') cells[column] = value;
    });
    try {
      const row = rowOf(cells, info.lines);
      const earlier = lineOfClientId.get(row.request.clientId);
      if (earlier !== undefined) throw new Error(`clientId '${row.request.clientId}' is on line ${earlier} already`);
      lineOfClientId.set(row.request.clientId, info.lines);
      rows.push(row);
    } catch (error) {
      errors.push(`line ${info.lines}: ${(error as Error).message}`);
    }
  }
  if (errors.length > 0) throw new UsageError(`the CSV has ${errors.length} bad line(s), nothing was sent:\n  ${errors.join('\n  ')}`);
  if (rows.length === 0) throw new UsageError('the CSV names no device (only its header line)');
  return rows;
}

/** The credentials file, as the API's `Accept: text/csv` batch answer and agent-sim's --credentials read it. */
export function credentialsCsv(created: readonly Schemas['CreatedProvisionRequest'][]): string {
  return stringify(
    created.map((request) => [request.clientId, request.credentials.username, request.credentials.password, request.credentials.activationKey ?? '']),
    { header: true, columns: ['clientId', 'username', 'password', 'activationKey'], record_delimiter: '\n' },
  );
}
