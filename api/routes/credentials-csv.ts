import { stringify } from 'csv-stringify/sync';
import type { CreatedProvisionRequest } from '../provision-request-types.ts';

const credentialColumns = ['clientId', 'username', 'password', 'activationKey'];

/** The columns of the provisioning code file, in the order of the JSON answer's items. */
export const provisioningCodeColumns = ['id', 'code', 'accountId', 'category', 'expiresOn'] as const;

type ProvisioningCodeRow = Readonly<Record<(typeof provisioningCodeColumns)[number], string | null>>;

/**
 * The fleet credential file: `clientId,username,password,activationKey`, one device a line, quoted
 * by csv-stringify (RFC 4180) where a field needs it. Lines end with LF. The device simulator reads
 * it; it holds secrets, so it exists only in this answer. Unlike the list exports its cells are not
 * made spreadsheet-safe: a `'` before a chosen password would make it a different password, and
 * every value is the caller's own (from the request just sent) or generated (docs/SECURITY.md).
 */
export function credentialsCsv(created: readonly CreatedProvisionRequest[]): string {
  const rows = created.map(({ request, credentials }) => [request.clientId, credentials.username, credentials.password, credentials.activationKey ?? '']);
  return stringify(rows, { header: true, columns: credentialColumns, record_delimiter: 'unix' });
}

/**
 * The provisioning code file: `id,code,accountId,category,expiresOn`, one code a line, to hand to
 * whoever sets the devices up. Like the credential file it exists only in the answer that made
 * the codes; every cell is generated or a plain word (a category name), so none needs making
 * spreadsheet-safe.
 */
export function provisioningCodesCsv(codes: readonly ProvisioningCodeRow[]): string {
  const rows = codes.map((code) => provisioningCodeColumns.map((column) => code[column] ?? ''));
  return stringify(rows, { header: true, columns: [...provisioningCodeColumns], record_delimiter: 'unix' });
}
