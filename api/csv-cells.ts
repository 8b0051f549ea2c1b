import { componentSchemas, type SchemaName, type Validated } from './schemas/index.ts';
import type { JsonSchema } from './schemas/common.ts';

/**
 * How a record of the API becomes a line of a CSV export: its columns come from the schema of its
 * JSON view (so a CSV holds what the JSON holds, never a hash or a secret, which the views leave
 * out), and every cell is made safe to open in a spreadsheet.
 */

/** A CSV field as csv-stringify writes it: text, or null for an empty field. */
export type CsvCell = string | null;

/**
 * A cell beginning with one of these is read as a formula by Excel, LibreOffice and Google Sheets
 * (OWASP, "CSV Injection"): `=`, `+`, `-`, `@`, a tab or a carriage return. Values written by
 * devices (model, serial, firmware) and by other operators (tags, names) reach these files.
 */
const formulaStart = /^[=+\-@\t\r]/;

/**
 * OWASP's advice: a leading `'` makes the spreadsheet show the cell as text. The export changes only
 * such cells; a program reading the file sees the `'` (docs/SECURITY.md). Imports strip nothing.
 */
export function spreadsheetSafe(text: string): string {
  return formulaStart.test(text) ? `'${text}` : text;
}

/**
 * One value of a JSON view as a CSV field: null is an empty field, booleans true/false, a list of
 * strings joined by ';', an object (an audit event's detail) its JSON text; then made spreadsheet-safe.
 */
export function csvCell(value: unknown): CsvCell {
  if (value === null || value === undefined) return null;
  let text: string;
  if (typeof value === 'string') text = value;
  else if (Array.isArray(value) && value.every((item) => typeof item === 'string')) text = value.join(';');
  else if (typeof value === 'object') text = JSON.stringify(value);
  else text = String(value);
  return spreadsheetSafe(text);
}

/** One column: its header name, and where its value is in the view (a nested object's field is `device.model`). */
interface ViewColumn {
  readonly name: string;
  readonly path: readonly string[];
}

/** How one kind of record is exported: the header and each record's line. */
export interface CsvLayout<T> {
  readonly columns: readonly string[];
  row(record: T): Readonly<Record<string, CsvCell>>;
}

function hasOwnProperties(schema: JsonSchema): schema is JsonSchema & { properties: Record<string, JsonSchema> } {
  const properties = schema['properties'];
  return typeof properties === 'object' && properties !== null;
}

/** The properties of a view schema in order; a nested object with known properties (device facts) becomes one column per field. */
function columnsOf(schema: JsonSchema, prefix: readonly string[], omit: ReadonlySet<string>): ViewColumn[] {
  if (!hasOwnProperties(schema)) return [];
  return Object.entries(schema.properties).flatMap(([name, property]) => {
    if (prefix.length === 0 && omit.has(name)) return [];
    const path = [...prefix, name];
    if (hasOwnProperties(property) && property['type'] === 'object') return columnsOf(property, path, omit);
    return [{ name: path.join('.'), path }];
  });
}

function valueAt(view: unknown, path: readonly string[]): unknown {
  let value = view;
  for (const key of path) value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  return value;
}

/**
 * The CSV layout of a JSON view: one column per property of the schema named `schema` (the schema
 * the JSON list publishes its items with), in its order, but those in `omit` (a configuration's
 * content, a certificate's PEM: large values a spreadsheet has no use for, still in the JSON).
 */
export function viewCsvLayout<N extends SchemaName, T>(
  schema: N,
  view: (record: T) => Readonly<Record<string, unknown>>,
  omit: readonly (keyof Validated<N> & string)[] = [],
): CsvLayout<T> {
  const columns = columnsOf(componentSchemas[schema], [], new Set(omit));
  return {
    columns: columns.map((column) => column.name),
    row: (record) => {
      const shown = view(record);
      return Object.fromEntries(columns.map((column) => [column.name, csvCell(valueAt(shown, column.path))]));
    },
  };
}
