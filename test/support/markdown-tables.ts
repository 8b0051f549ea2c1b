/**
 * Test helper: the GitHub-flavoured markdown tables of a document, read well enough to check a
 * document against the code it describes (test/protocol-code-table.test.ts).
 */
export interface MarkdownTable {
  /** The `## ` heading the table is under ('' before the first one). */
  readonly section: string;
  readonly header: readonly string[];
  /** The body rows, each cell trimmed. */
  readonly rows: readonly (readonly string[])[];
}

/** The cells of one table line: split on `|` outside backticks, `\|` kept as a `|`. */
export function tableCells(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let inCode = false;
  const text = line.trim().replace(/^\|/, '').replace(/\|$/, '');
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i]!;
    if (char === '\\' && text[i + 1] === '|') {
      cell += '|';
      i += 1;
    } else if (char === '`') {
      inCode = !inCode;
      cell += char;
    } else if (char === '|' && !inCode) {
      cells.push(cell.trim());
      cell = '';
    } else {
      cell += char;
    }
  }
  cells.push(cell.trim());
  return cells;
}

/** Every table whose header row starts with `headerStart` (compared after trimming the line). */
export function findTables(markdown: string, headerStart: string): MarkdownTable[] {
  const lines = markdown.split(/\r?\n/);
  const tables: MarkdownTable[] = [];
  let section = '';
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]!.trim();
    if (/^##\s/.test(line)) section = line.replace(/^##\s+/, '');
    if (!line.startsWith(headerStart)) continue;
    const separator = lines[i + 1]?.trim() ?? '';
    if (!/^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?$/.test(separator)) continue;
    const rows: string[][] = [];
    let j = i + 2;
    for (; j < lines.length && lines[j]!.trim().startsWith('|'); j += 1) rows.push(tableCells(lines[j]!));
    tables.push({ section, header: tableCells(line), rows });
    i = j - 1;
  }
  return tables;
}

/** The words written in backticks in a cell, in order. */
export function codeSpans(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);
}
