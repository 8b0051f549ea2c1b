/** Prints rows as an aligned plain-text table (pastes into Markdown as a code block). */

export type Cell = string | number | boolean | null | undefined;

function text(cell: Cell): string {
  if (cell === null || cell === undefined) return '–';
  if (typeof cell === 'number') return Number.isInteger(cell) ? cell.toLocaleString('en-US') : String(cell);
  return String(cell);
}

export function formatTable(rows: readonly Record<string, Cell>[]): string {
  if (rows.length === 0) return '(no rows)';
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const cells = rows.map((row) => columns.map((column) => text(row[column])));
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((line) => line[i]!.length)));
  const line = (values: readonly string[]): string =>
    `| ${values.map((value, i) => (/^[-\d.,]+$/.test(value) ? value.padStart(widths[i]!) : value.padEnd(widths[i]!))).join(' | ')} |`;
  return [line(columns), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

export function printTable(title: string, rows: readonly Record<string, Cell>[]): void {
  process.stdout.write(`\n${title}\n${formatTable(rows)}\n`);
}
