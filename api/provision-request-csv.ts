import { CsvError, parse } from 'csv-parse/sync';
import { ApiValidationError, invalid, type FieldError } from './problem.ts';
import type { TextBodyForm } from './route-spec.ts';
import type { JsonSchema } from './schemas/common.ts';
import { componentSchemas, type Validated } from './schemas/index.ts';
import { maxBatchSize } from './schemas/provision-requests.ts';

/**
 * A batch of provision requests as a CSV file (POST /api/v1/provision-requests/batch with
 * Content-Type: text/csv). csv-parse reads it (RFC 4180 quoting, a UTF-8 BOM, ',' or ';'); each row
 * becomes the JSON item the JSON batch takes, and the route validates `{ requests }` with the very
 * same schema. Findings are then named by row and column rather than by JSON path: `body/rows/7/clientId`,
 * row 7 being the seventh record after the header row (blank lines are not records; a quoted field
 * may span lines, so a row number is not a line number; in a spreadsheet it is on row 8, under the header).
 */

type ColumnKind = 'text' | 'boolean' | 'integer' | 'list';

function kindOf(schema: JsonSchema): ColumnKind {
  switch (schema['type']) {
    case 'boolean':
      return 'boolean';
    case 'integer':
      return 'integer';
    case 'array':
      return 'list';
    default:
      return 'text';
  }
}

/** The columns a CSV batch may have: the fields of a JSON item (NewProvisionRequest), of the kind its schema gives. */
const columnKinds: ReadonlyMap<string, ColumnKind> = new Map(
  Object.entries(componentSchemas.NewProvisionRequest.properties).map(([name, schema]) => [name, kindOf(schema as JsonSchema)]),
);
/** Header names are matched without regard to case (ClientId is clientId). */
const columnByLowerCase = new Map([...columnKinds.keys()].map((name) => [name.toLowerCase(), name]));

/** The delimiter of the header row: ';' when it holds more of them than ',' (a spreadsheet set to a comma decimal separator writes ';'). */
function detectDelimiter(text: string): string {
  const headerLine = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  const count = (char: string) => headerLine.split(char).length - 1;
  return count(';') > count(',') ? ';' : ',';
}

/** What csv-parse could not read, in words: which row, and why (never the text itself). */
function unreadable(error: CsvError): ApiValidationError {
  // csv-parse counts the records it completed: the header is the first, so the failing one is data row `records`.
  const row = typeof error['records'] === 'number' ? error['records'] : 0;
  const reasons: Partial<Record<string, string>> = {
    CSV_QUOTE_NOT_CLOSED: 'opens a quote that is never closed',
    CSV_INVALID_CLOSING_QUOTE: 'has a quote inside an unquoted field or text after a closing quote (a quote inside a quoted field is written "")',
  };
  const message = reasons[error.code] ?? `cannot be read as CSV (${error.code})`;
  return row === 0 ? invalid('body/header', message) : rowErrors([{ path: `body/rows/${row}`, message }]);
}

function readRecords(text: string, delimiter: string): string[][] {
  try {
    // Rows of another length than the header are refused by csvBatchBody, in words of our own.
    return parse(text, { bom: true, delimiter, skip_empty_lines: true, relax_column_count: true });
  } catch (error) {
    if (error instanceof CsvError) throw unreadable(error);
    throw error;
  }
}

/** The header's column names, checked: each known and named once, clientId present, the account given one way. */
function headerColumns(header: readonly string[], accountIdInQuery: boolean): string[] {
  const errors: FieldError[] = [];
  const columns = header.map((cell, index) => {
    const name = cell.trim();
    const column = columnByLowerCase.get(name.toLowerCase());
    if (name === '') errors.push({ path: `body/header/${index + 1}`, message: 'is empty: every column needs a name' });
    else if (!column) errors.push({ path: `body/header/${name}`, message: `is not a column of a provision request (${[...columnKinds.keys()].join(', ')})` });
    return column ?? '';
  });
  for (const [index, column] of columns.entries()) {
    if (column !== '' && columns.indexOf(column) !== index) errors.push({ path: `body/header/${column}`, message: 'names a column twice' });
  }
  if (!columns.includes('clientId')) errors.push({ path: 'body/header/clientId', message: 'is required' });
  if (columns.includes('accountId') && accountIdInQuery) {
    errors.push({ path: 'query/accountId', message: 'must not be given when the CSV has an accountId column' });
  }
  if (!columns.includes('accountId') && !accountIdInQuery) {
    errors.push({ path: 'query/accountId', message: 'is required when the CSV has no accountId column' });
  }
  if (errors.length > 0) throw new ApiValidationError(errors);
  return columns;
}

/** A cell as the JSON value of its column: true/false, a whole number, a ';'-separated list, or the text as it is (the schema judges it). */
function cellValue(kind: ColumnKind, cell: string): unknown {
  if (kind === 'boolean' && /^(true|false)$/i.test(cell)) return cell.toLowerCase() === 'true';
  if (kind === 'integer' && /^[+-]?\d{1,15}$/.test(cell)) return Number(cell);
  if (kind === 'list') {
    return cell
      .split(';')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  }
  return cell;
}

/** One row as a JSON item; an empty cell is a field left out, so its default applies. */
function itemOf(row: readonly string[], columns: readonly string[], accountId: string | undefined): Record<string, unknown> {
  const item: Record<string, unknown> = accountId === undefined ? {} : { accountId };
  for (const [index, column] of columns.entries()) {
    const cell = row[index] ?? '';
    if (cell !== '') item[column] = cellValue(columnKinds.get(column) ?? 'text', cell);
  }
  return item;
}

/**
 * The JSON batch a CSV file stands for: `{ requests: [...] }`, one item a row. Refused before any
 * validation: an unreadable file, a bad header, no row, more than maxBatchSize rows.
 */
export function csvBatchBody(text: string, query: Validated<'ProvisionRequestBatchQuery'>): { requests: Record<string, unknown>[] } {
  const [header, ...rows] = readRecords(text, query.delimiter ?? detectDelimiter(text));
  if (!header) throw invalid('body', 'is empty: a CSV batch starts with a header row naming its columns');
  const columns = headerColumns(header, query.accountId !== undefined);
  if (rows.length === 0) throw invalid('body/rows', 'there is no row under the header');
  if (rows.length > maxBatchSize) throw invalid('body/rows', `holds ${rows.length} rows; a batch holds at most ${maxBatchSize}`);
  const ragged = rows.flatMap((row, index) =>
    row.length === header.length ? [] : [{ path: `body/rows/${index + 1}`, message: `has ${row.length} fields where the header has ${header.length}` }],
  );
  if (ragged.length > 0) throw rowErrors(ragged);
  return { requests: rows.map((row) => itemOf(row, columns, query.accountId)) };
}

const itemPath = /^body\/requests\/(\d+)(?:\/(.*))?$/;
const rowPath = /^body\/rows\/(\d+)(?:\/([^/]+)(?:\/(\d+))?)?/;

/** "row 7, column clientId: is required" — how a finding on a row reads in the problem's detail. */
function rowFinding({ path, message }: FieldError): string {
  const match = rowPath.exec(path);
  if (!match) return `${path} ${message}`;
  const [, row, column, item] = match;
  const where = column === undefined ? '' : `, column ${column}${item === undefined ? '' : ` (item ${Number(item) + 1})`}`;
  return `row ${row}${where}: ${message}`;
}

function rowErrors(errors: readonly FieldError[], shown = 5): ApiValidationError {
  const more = errors.length > shown ? ` (and ${errors.length - shown} more)` : '';
  return new ApiValidationError(errors, `${errors.slice(0, shown).map(rowFinding).join('; ')}${more}`);
}

/** Findings on the JSON items (body/requests/6/clientId) named by row and column instead (body/rows/7/clientId). */
export function locateCsvRows(error: ApiValidationError): ApiValidationError {
  return rowErrors(
    error.errors.map(({ path, message }) => {
      if (path === 'body/requests') return { path: 'body/rows', message };
      const match = itemPath.exec(path);
      if (!match) return { path, message };
      const [, index, rest] = match;
      return { path: `body/rows/${Number(index) + 1}${rest === undefined ? '' : `/${rest}`}`, message };
    }),
  );
}

/** The CSV form of the batch body, as the route declares it (api/route-spec.ts TextBodyForm). */
export const csvBatchForm: TextBodyForm<'ProvisionRequestBatchQuery'> = {
  contentType: 'text/csv',
  description:
    'A header row naming the columns, then one request a row (at most ' +
    `${maxBatchSize}): ${[...columnKinds.keys()].join(', ')}; clientId is required, accountId is a column or the accountId ` +
    "query parameter. UTF-8, a BOM allowed; ',' or ';' between fields (detected from the header row, or the delimiter " +
    'parameter); RFC 4180 quoting, so a field may hold the delimiter, quotes ("") and line breaks. An empty field takes ' +
    "the default; booleans are true/false; bundleIds and tags are ';'-separated lists (quote the field when ';' is the " +
    'delimiter). Header names are matched without regard to case. Nothing is stripped from a value.',
  toJson: csvBatchBody,
  locate: locateCsvRows,
};
