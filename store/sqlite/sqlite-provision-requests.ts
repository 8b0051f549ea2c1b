import { PlatformError } from '../../errors/platform-error.ts';
import { buildProvisionRequest, pageWindow, patchProvisionRequest, refusal } from '../records.ts';
import type {
  CreateProvisionRequestsOptions,
  NewAuditEvent,
  NewProvisionRequest,
  Page,
  ProvisionRequest,
  ProvisionRequestCreation,
  ProvisionRequestFilter,
  ProvisionRequestPatch,
} from '../types.ts';
import { provisionRequestFromRow, provisionRequestToRow, type ProvisionRequestRow } from './row-mapping.ts';
import { storeErrorFromSqlite } from './sqlite-errors.ts';
import { Conditions, selectPage, type SqlRunner } from './sql-runner.ts';

const insertRequest = `
  INSERT INTO provision_requests (
    id, account_id, client_id, username, password_hash, activation_key_hash, activates_on, expires_on,
    retry_max_attempts, retry_count, overwrite_if_duplicate, status, job_status, configuration_id, bundle_ids, category, tags,
    current_request_id, certificate_serial, device_model, device_serial, device_firmware,
    created_on, created_by, modified_on, modified_by, version)
  VALUES (
    @id, @account_id, @client_id, @username, @password_hash, @activation_key_hash, @activates_on, @expires_on,
    @retry_max_attempts, @retry_count, @overwrite_if_duplicate, @status, @job_status, @configuration_id, @bundle_ids, @category, @tags,
    @current_request_id, @certificate_serial, @device_model, @device_serial, @device_firmware,
    @created_on, @created_by, @modified_on, @modified_by, @version)`;

/**
 * Compare-and-set: the row changes only if nobody updated it since it was read. Only the columns
 * whose values change are written (plus modified_on, modified_by, version): SQLite rewrites the
 * entries of every index on a column named in SET, and an update naming all of them rewrote six
 * index entries to change a job status.
 */
function updateRequest(columns: readonly (keyof ProvisionRequestRow)[]): string {
  return `UPDATE provision_requests SET ${columns.map((column) => `${column} = @${column}`).join(', ')}
    WHERE id = @id AND version = @expected_version`;
}

/** Written by every update. */
const bookkeepingColumns = new Set<keyof ProvisionRequestRow>(['modified_on', 'modified_by', 'version']);

/** The columns of `next` that differ from `current`, always with the bookkeeping columns. */
function changedColumns(current: ProvisionRequestRow, next: ProvisionRequestRow): (keyof ProvisionRequestRow)[] {
  const changed = (Object.keys(next) as (keyof ProvisionRequestRow)[]).filter((column) => !bookkeepingColumns.has(column) && next[column] !== current[column]);
  return [...changed, ...bookkeepingColumns];
}

export class SqliteProvisionRequests {
  constructor(private readonly sql: SqlRunner) {}

  create(input: NewProvisionRequest): ProvisionRequest {
    const request = buildProvisionRequest(input, Date.now());
    this.sql.write(() => this.insert(request));
    return request;
  }

  /**
   * create() for each item in input order, each request with its audit event, in one transaction
   * (one savepoint of the group commit): the batch is written in one go and committed once. A
   * refusal (raised by the checks before the INSERT, or by the INSERT itself, which SQLite undoes
   * alone) is that item's answer; anything else rolls the whole batch back.
   */
  createMany(
    inputs: readonly NewProvisionRequest[],
    options: CreateProvisionRequestsOptions,
    appendAudit: (event: NewAuditEvent) => void,
  ): ProvisionRequestCreation[] {
    return this.sql.write(() =>
      inputs.map((input, index): ProvisionRequestCreation => {
        const request = buildProvisionRequest(input, Date.now());
        try {
          this.insert(request);
        } catch (error) {
          const refused = storeErrorFromSqlite(error);
          if (refused instanceof PlatformError && (refused.code === 'DUPLICATE' || refused.code === 'NOT_FOUND')) return { ok: false, error: refused };
          throw error;
        }
        if (options.auditEvent) appendAudit(options.auditEvent(request, index));
        return { ok: true, request };
      }),
    );
  }

  get(id: string): ProvisionRequest | null {
    const row = this.sql.get<ProvisionRequestRow>('SELECT * FROM provision_requests WHERE id = ?', id);
    return row ? provisionRequestFromRow(row) : null;
  }

  findEnabled(clientId: string): ProvisionRequest | null {
    const row = this.sql.get<ProvisionRequestRow>("SELECT * FROM provision_requests WHERE client_id = ? AND status = 'ENABLED'", clientId);
    return row ? provisionRequestFromRow(row) : null;
  }

  list(filter: ProvisionRequestFilter = {}): Page<ProvisionRequest> {
    const conditions = new Conditions()
      .equal('account_id', filter.accountId)
      .equal('category', filter.category)
      .oneOf('client_id', filter.clientIds)
      .oneOf('status', filter.statuses)
      .oneOf('job_status', filter.jobStatuses)
      .atLeast('created_on', filter.startDate)
      .atMost('created_on', filter.endDate);
    return selectPage(this.sql, 'provision_requests', conditions, 'created_on, id', pageWindow(filter), provisionRequestFromRow);
  }

  update(id: string, expectedVersion: number, patch: ProvisionRequestPatch): ProvisionRequest {
    return this.sql.write(() => {
      const current = this.get(id);
      if (!current) throw new PlatformError('NOT_FOUND', { detail: refusal.requestNotFound });
      if (current.version !== expectedVersion) throw new PlatformError('VERSION_CONFLICT', { detail: refusal.staleVersion });
      const next = patchProvisionRequest(current, patch, Date.now());
      // The current row already keeps both rules; only a new clientId or a newly enabled request can break one.
      if (next.clientId !== current.clientId || (next.status === 'ENABLED' && current.status !== 'ENABLED')) {
        this.refuseTakenClientId(next, current.id);
      }
      const nextRow = provisionRequestToRow(next);
      const { changes } = this.sql.run(updateRequest(changedColumns(provisionRequestToRow(current), nextRow)), {
        ...nextRow,
        expected_version: expectedVersion,
      });
      if (changes === 0) throw new PlatformError('VERSION_CONFLICT', { detail: refusal.staleVersion });
      return next;
    });
  }

  delete(id: string): void {
    const { changes } = this.sql.run('DELETE FROM provision_requests WHERE id = ?', id);
    if (changes === 0) throw new PlatformError('NOT_FOUND', { detail: refusal.requestNotFound });
  }

  /** Delete and insert in one transaction: if the insert is refused the old request stays. */
  replace(existingId: string, input: NewProvisionRequest): ProvisionRequest {
    const request = buildProvisionRequest(input, Date.now());
    this.sql.write(() => {
      this.delete(existingId);
      this.insert(request);
    });
    return request;
  }

  private insert(request: ProvisionRequest): void {
    if (!this.sql.get('SELECT 1 FROM accounts WHERE id = ?', request.accountId)) {
      throw new PlatformError('NOT_FOUND', { detail: refusal.accountNotFound });
    }
    this.refuseTakenClientId(request, null);
    this.sql.run(insertRequest, provisionRequestToRow(request));
  }

  /** The explicit form of the two unique indexes, so the refusal says which rule applies. */
  private refuseTakenClientId(request: ProvisionRequest, ownId: string | null): void {
    const sameAccount = this.sql.get<{ id: string }>(
      'SELECT id FROM provision_requests WHERE account_id = ? AND client_id = ?',
      request.accountId,
      request.clientId,
    );
    if (sameAccount && sameAccount.id !== ownId) throw new PlatformError('DUPLICATE', { detail: refusal.clientIdTakenInAccount });
    if (request.status !== 'ENABLED') return;
    const enabled = this.findEnabled(request.clientId);
    if (enabled && enabled.id !== ownId) throw new PlatformError('DUPLICATE', { detail: refusal.clientIdEnabledElsewhere });
  }
}
