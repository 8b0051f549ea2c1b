/**
 * Just enough CSV for the console: reads a pasted or uploaded list of devices (RFC 4180 quoting,
 * comma or semicolon, a BOM, CRLF) and writes the credentials file. The API does the same with a
 * maintained library; the page cannot load one without a bundler, and this is all it needs.
 */
export function parseCsv(text: string): string[][] {
  const source = text.replace(/^\uFEFF/, '');
  const firstLine = source.split(/\r?\n/, 1)[0] ?? '';
  const delimiter = firstLine.includes(';') && !firstLine.includes(',') ? ';' : ',';
  const rows: string[][] = [];
  let rowCells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let index = 0; index < source.length; index++) {
    const char = source[index]!;
    if (quoted) {
      if (char === '"' && source[index + 1] === '"') {
        cell += '"';
        index++;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"' && cell === '') quoted = true;
    else if (char === delimiter) {
      rowCells.push(cell);
      cell = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && source[index + 1] === '\n') index++;
      rowCells.push(cell);
      rows.push(rowCells);
      rowCells = [];
      cell = '';
    } else cell += char;
  }
  if (cell !== '' || rowCells.length > 0) {
    rowCells.push(cell);
    rows.push(rowCells);
  }
  return rows.map((cells) => cells.map((value) => value.trim())).filter((cells) => cells.some((value) => value !== ''));
}

function quote(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function toCsv(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [header, ...rows].map((cells) => cells.map(quote).join(',')).join('\r\n') + '\r\n';
}
