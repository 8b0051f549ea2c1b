import Database from 'better-sqlite3';
import { describeErrno, errnoOfSqliteCode } from '../../errors/file-system-cause.ts';
import { PlatformError } from '../../errors/platform-error.ts';
import { refusal } from '../records.ts';

/**
 * Maps what better-sqlite3 throws to the store's error codes. The explicit checks in the
 * queries give the usual refusals; these constraint mappings are the backstop that also holds
 * when another process wins a race between the check and the write.
 */

/** The columns named by "UNIQUE constraint failed: …", mapped to what they mean. */
const uniqueConstraintDetails: Readonly<Record<string, string>> = {
  'accounts.name': refusal.accountNameTaken,
  'provision_requests.account_id, provision_requests.client_id': refusal.clientIdTakenInAccount,
  'provision_requests.client_id': refusal.clientIdEnabledElsewhere,
  'certificates.serial': refusal.serialTaken,
  'certificates.account_id, certificates.client_id, certificates.renewal_request_id': refusal.renewalRequestAnswered,
  'categories.account_id, categories.name': refusal.categoryNameTaken,
  'manufacturer_cas.name': refusal.manufacturerCaNameTaken,
  'manufacturer_cas.fingerprint_sha256': refusal.manufacturerCaFingerprintTaken,
  'factory_certificate_blocks.manufacturer_ca_id, factory_certificate_blocks.serial': refusal.factoryCertificateBlocked,
  'enrollment_groups.account_id, enrollment_groups.name': refusal.enrollmentGroupNameTaken,
  'provisioning_codes.code_hash': refusal.provisioningCodeHashTaken,
};

/** Result codes meaning the database cannot be used now (locked too long, disk, file, closed). */
const unavailableCodes = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|CORRUPT|NOTADB|PERM|PROTOCOL)/;

export function storeErrorFromSqlite(error: unknown): unknown {
  if (error instanceof PlatformError) return error;
  if (error instanceof Database.SqliteError) {
    if (error.code === 'SQLITE_CONSTRAINT_UNIQUE' || error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
      const columns = error.message.replace(/^UNIQUE constraint failed: /, '');
      return new PlatformError('DUPLICATE', { detail: uniqueConstraintDetails[columns] ?? 'duplicate record', cause: error });
    }
    if (error.code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
      return new PlatformError('NOT_FOUND', { detail: refusal.accountNotFound, cause: error });
    }
    if (unavailableCodes.test(error.code)) {
      const errno = errnoOfSqliteCode(error.code);
      return new PlatformError('STORE_UNAVAILABLE', { detail: `SQLite: ${error.code}${errno ? `, ${describeErrno(errno)}` : ''}`, cause: error });
    }
    return error;
  }
  // better-sqlite3 throws a TypeError for any use of a closed connection.
  if (error instanceof TypeError && /database connection is not open/.test(error.message)) {
    return new PlatformError('STORE_UNAVAILABLE', { detail: 'the store is closed', cause: error });
  }
  return error;
}
