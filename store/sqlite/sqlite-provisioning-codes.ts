import { PlatformError } from '../../errors/platform-error.ts';
import { boundProvisioningCode, buildProvisioningCode, registeredProvisioningCode } from '../enrollment-records.ts';
import type { NewProvisioningCode, ProvisioningCode, ProvisioningCodeFilter } from '../enrollment-types.ts';
import { pageWindow, refusal } from '../records.ts';
import type { Page } from '../types.ts';
import { provisioningCodeFromRow, provisioningCodeToRow, type ProvisioningCodeRow } from './enrollment-row-mapping.ts';
import { Conditions, selectPage, type SqlRunner } from './sql-runner.ts';

const insertProvisioningCode = `
  INSERT INTO provisioning_codes (id, account_id, category, code_hash, status, client_id, provision_request_id, created_on, created_by, expires_on, registered_on)
  VALUES (@id, @account_id, @category, @code_hash, @status, @client_id, @provision_request_id, @created_on, @created_by, @expires_on, @registered_on)`;

/** Every change of a code is from PENDING: the condition makes a change made from a stale read apply to nothing. */
const updatePendingCode = `
  UPDATE provisioning_codes SET code_hash = @code_hash, status = @status, client_id = @client_id,
    provision_request_id = @provision_request_id, registered_on = @registered_on
  WHERE id = @id AND status = 'PENDING'`;

/**
 * Provisioning codes: kept as their hash only (unique while the code is PENDING: the partial
 * unique index refuses a second one, DUPLICATE), bound to the first device that uses one, and
 * REGISTERED without the hash once that device completed. Each change is a read-check-write in
 * one write transaction, so two CONNECTs with one code cannot both bind it.
 */
export class SqliteProvisioningCodes {
  constructor(private readonly sql: SqlRunner) {}

  /** All or nothing: a taken hash (or one repeated in the batch) refuses the whole batch. */
  createMany(inputs: readonly NewProvisioningCode[]): ProvisioningCode[] {
    return this.sql.write(() => {
      const now = Date.now();
      const codes = inputs.map((input) => buildProvisioningCode(input, now));
      const accountIds = new Set(codes.map((code) => code.accountId));
      for (const accountId of accountIds) {
        if (!this.sql.get('SELECT 1 FROM accounts WHERE id = ?', accountId)) throw new PlatformError('NOT_FOUND', { detail: refusal.accountNotFound });
      }
      for (const code of codes) this.sql.run(insertProvisioningCode, provisioningCodeToRow(code));
      return codes;
    });
  }

  get(id: string): ProvisioningCode | null {
    const row = this.sql.get<ProvisioningCodeRow>('SELECT * FROM provisioning_codes WHERE id = ?', id);
    return row ? provisioningCodeFromRow(row) : null;
  }

  findByHash(codeHash: string): ProvisioningCode | null {
    const row = this.sql.get<ProvisioningCodeRow>('SELECT * FROM provisioning_codes WHERE code_hash = ?', codeHash);
    return row ? provisioningCodeFromRow(row) : null;
  }

  list(filter: ProvisioningCodeFilter = {}): Page<ProvisioningCode> {
    const conditions = new Conditions().equal('account_id', filter.accountId).equal('status', filter.status).equal('category', filter.category);
    return selectPage(this.sql, 'provisioning_codes', conditions, 'created_on, id', pageWindow(filter), provisioningCodeFromRow);
  }

  bind(id: string, clientId: string, provisionRequestId: string): boolean {
    return this.sql.write(() => {
      const current = this.get(id);
      const bound = current && boundProvisioningCode(current, clientId, provisionRequestId);
      return bound ? this.sql.run(updatePendingCode, provisioningCodeToRow(bound)).changes === 1 : false;
    });
  }

  markRegistered(id: string, now: number): boolean {
    return this.sql.write(() => {
      const current = this.get(id);
      const registered = current && registeredProvisioningCode(current, now);
      return registered ? this.sql.run(updatePendingCode, provisioningCodeToRow(registered)).changes === 1 : false;
    });
  }

  delete(id: string): void {
    const { changes } = this.sql.run('DELETE FROM provisioning_codes WHERE id = ?', id);
    if (changes === 0) throw new PlatformError('NOT_FOUND', { detail: refusal.provisioningCodeNotFound });
  }

  deleteExpired(now: number): number {
    return this.sql.run("DELETE FROM provisioning_codes WHERE status = 'PENDING' AND expires_on <= ?", now).changes;
  }
}
