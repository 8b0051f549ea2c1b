import { stringify } from 'csv-stringify/sync';
import type { Schemas } from './api-client.ts';

/** The columns of the API's own codes file (Accept: text/csv), in its order. */
const columns = ['id', 'code', 'accountId', 'category', 'expiresOn'] as const;

/**
 * The codes file of `provisio codes create --csv FILE`: `id,code,accountId,category,expiresOn`, one
 * code a line, as the API's `Accept: text/csv` answer and agent-sim --codes-file have it. Made here
 * from the JSON answer (the client asks for JSON only), by csv-stringify (RFC 4180 quoting).
 */
export function provisioningCodesCsv(codes: Schemas['CreatedProvisioningCodes']['items']): string {
  const rows = codes.map((code) => columns.map((column) => code[column] ?? ''));
  return stringify(rows, { header: true, columns: [...columns], record_delimiter: '\n' });
}
