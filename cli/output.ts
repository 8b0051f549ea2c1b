import type { ProblemDetails } from './exit-codes.ts';

/** Where a command writes: stdout for what it was asked for, stderr for warnings and errors. */
export interface Output {
  /** --json was given: print the API's JSON rather than a table. */
  readonly json: boolean;
  stdout(text: string): void;
  stderr(text: string): void;
}

/** One column of a table: its header and how a row shows in it. */
export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string | number | boolean | null | undefined;
}

/**
 * Control characters (C0, DEL, C1) and the bidirectional and zero-width format characters shown
 * as `?`: values a device reported (its model, firmware) reach the operator's terminal, where an
 * escape sequence could rewrite the screen or a U+202E reorder what is seen.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const unsafeCharacters = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

export function printable(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '-';
  return String(value).replace(unsafeCharacters, '?');
}

/** Rows as aligned columns, a header first; an empty list says so on stderr. */
export function printTable<T>(out: Output, rows: readonly T[], columns: readonly Column<T>[]): void {
  if (rows.length === 0) {
    out.stderr('(none)\n');
    return;
  }
  const cells = rows.map((row) => columns.map((column) => printable(column.value(row))));
  const widths = columns.map((column, index) => Math.max(column.header.length, ...cells.map((line) => line[index]!.length)));
  const line = (values: readonly string[]) =>
    values
      .map((value, index) => (index === values.length - 1 ? value : value.padEnd(widths[index]!)))
      .join('  ')
      .trimEnd();
  out.stdout(`${[line(columns.map((column) => column.header)), ...cells.map(line)].join('\n')}\n`);
}

/** One resource as `field: value` lines. */
export function printFields(out: Output, fields: readonly (readonly [string, string | number | boolean | null | undefined])[]): void {
  const width = Math.max(...fields.map(([name]) => name.length));
  out.stdout(`${fields.map(([name, value]) => `${`${name}:`.padEnd(width + 1)} ${printable(value)}`).join('\n')}\n`);
}

/** A page's position, on stderr so that stdout stays the table. */
export function printPageFooter(out: Output, page: { readonly items: readonly unknown[]; readonly total: number; readonly offset: number }): void {
  if (page.items.length === 0 || page.items.length === page.total) return;
  out.stderr(`(${page.offset + 1}-${page.offset + page.items.length} of ${page.total}: --offset and --limit for more)\n`);
}

/** The API's JSON, indented, on stdout. */
export function printJson(out: Output, value: unknown): void {
  out.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

/** `provisio: A record with the same identity already exists (409 DUPLICATE): an account with this name exists`, then one line per invalid field. */
export function printProblem(out: Output, status: number, problem: ProblemDetails): void {
  const why = [String(status), problem.code].filter((part) => part !== undefined).join(' ');
  const detail = problem.detail !== undefined && problem.detail !== '' ? `: ${printable(problem.detail)}` : '';
  const lines = [`provisio: ${printable(problem.title ?? 'refused')} (${printable(why)})${detail}`];
  for (const error of problem.errors ?? []) lines.push(`  ${printable(error.path)}: ${printable(error.message)}`);
  out.stderr(`${lines.join('\n')}\n`);
}

/** A list of strings as one cell. */
export function joined(values: readonly string[] | null | undefined): string {
  return values && values.length > 0 ? values.join(';') : '-';
}
