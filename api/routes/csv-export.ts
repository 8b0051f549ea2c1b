import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import type { Request, Response } from 'express';
import type { Page } from '../../store/types.ts';
import type { CsvCell, CsvLayout } from '../csv-cells.ts';
import { invalid } from '../problem.ts';
import type { ResponseDoc } from '../route-spec.ts';

/**
 * A list of the API as one CSV file (GET on a list with Accept: text/csv): every record of the
 * selection, not one page. Read from the store a page at a time and streamed through csv-stringify
 * with backpressure, so a large selection never sits in memory as one string.
 */

/** Records one export may hold: beyond it the request is refused, so the operator narrows the filters rather than getting a file cut short. */
export const maxCsvRows = 100_000;
/** Records read from the store at a time (the store's largest page). */
const csvPageSize = 1000;

/** One export: the file name, its layout, and how to read a page of the selection. */
export interface CsvExport<T> extends CsvLayout<T> {
  /** devices.csv: the name in Content-Disposition. */
  readonly filename: string;
  /** The records in a refusal: "selects 100001 devices". */
  readonly noun: string;
  /** A page of the selection (the list's filters, with this offset and limit). */
  page(offset: number, limit: number): Promise<Page<T>>;
}

/** Whether the caller asked for the CSV file rather than a JSON page. */
export function wantsCsv(req: Request): boolean {
  return req.accepts(['application/json', 'text/csv']) === 'text/csv';
}

/**
 * The pages after the first, read by offset until a short page. A record added or removed during
 * the export can shift the pages (one missed or listed twice): an export is a snapshot only of a
 * selection that is not changing. At most maxCsvRows rows whatever happens meanwhile.
 */
async function* csvRows<T>(spec: CsvExport<T>, first: readonly T[]): AsyncGenerator<Readonly<Record<string, CsvCell>>> {
  let page = first;
  let offset = 0;
  for (;;) {
    for (const record of page) {
      if (offset >= maxCsvRows) return;
      offset += 1;
      yield spec.row(record);
    }
    if (page.length < csvPageSize) return;
    page = (await spec.page(offset, csvPageSize)).items;
  }
}

function isClientGone(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'ERR_STREAM_PREMATURE_CLOSE';
}

/**
 * Answers the selection as {filename}: a header row, one record a line (cells as api/csv-cells.ts
 * makes them). A selection larger than maxCsvRows is a 400 before anything is sent; a store failure
 * after the first page cuts the answer off (the error handler destroys the response), so a short
 * file is never mistaken for a whole one.
 */
export async function sendCsv<T>(spec: CsvExport<T>, res: Response): Promise<void> {
  const first = await spec.page(0, csvPageSize);
  if (first.total > maxCsvRows) {
    throw invalid('query', `selects ${first.total} ${spec.noun}; a CSV export holds at most ${maxCsvRows}: narrow it with the filters`);
  }
  res.status(200);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Disposition', `attachment; filename="${spec.filename}"`);
  res.type('text/csv; charset=utf-8');
  const stringifier = stringify({ header: true, columns: [...spec.columns] });
  try {
    await pipeline(Readable.from(csvRows(spec, first.items)), stringifier, res);
  } catch (error) {
    if (isClientGone(error)) return;
    throw error;
  }
}

/** The words every CSV answer's documentation shares: what is in the file and what is not. */
const csvAnswerRules =
  `With \`Accept: text/csv\` the answer is a CSV file (Content-Disposition: attachment): a header row, then one record a line, every ` +
  `record the filters select (offset and limit are ignored), at most ${maxCsvRows} (a larger selection is 400: narrow the filters), ` +
  "in the order of the JSON list. null is an empty field, booleans true/false, lists joined by ';', objects as JSON text; a cell " +
  "that would start with =, +, -, @, a tab or a carriage return starts with ' instead (spreadsheet formula injection, docs/SECURITY.md).";

/** A list's 200 response with its CSV form documented: the JSON page as before, text/csv with its columns, the Content-Disposition header. */
export function withCsvAnswer(json: ResponseDoc, filename: string, columns: readonly string[]): ResponseDoc {
  return {
    ...json,
    description: `${json.description} ${csvAnswerRules}`,
    content: { ...json.content, 'text/csv': { type: 'string', description: `${filename}; columns: ${columns.join(', ')}.` } },
    headers: {
      ...json.headers,
      'Content-Disposition': { description: `CSV answers: attachment; filename="${filename}".`, schema: { type: 'string' } },
    },
  };
}
