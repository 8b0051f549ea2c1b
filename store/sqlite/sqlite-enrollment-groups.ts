import { PlatformError } from '../../errors/platform-error.ts';
import { buildEnrollmentGroup, patchEnrollmentGroup } from '../enrollment-records.ts';
import type { EnrollmentGroup, EnrollmentGroupFilter, EnrollmentGroupPatch, NewEnrollmentGroup } from '../enrollment-types.ts';
import { pageWindow, refusal } from '../records.ts';
import type { Page } from '../types.ts';
import { enrollmentGroupFromRow, enrollmentGroupToRow, type EnrollmentGroupRow } from './enrollment-row-mapping.ts';
import { Conditions, selectPage, type SqlRunner } from './sql-runner.ts';

const columns = `id, account_id, name, manufacturer_ca_id, category, configuration_id, bundle_ids, tags, allow_serials, allow_client_ids,
  deny_serials, deny_client_ids, valid_from, valid_until, reprovision_allowed, provision_broker_url, enabled, created_on, modified_on, version`;

const insertEnrollmentGroup = `INSERT INTO enrollment_groups (${columns}) VALUES (${columns
  .split(',')
  .map((column) => `@${column.trim()}`)
  .join(', ')})`;

/** Compare-and-set on version; the account and the CA never change. */
const updateEnrollmentGroup = `
  UPDATE enrollment_groups SET name = @name, category = @category, configuration_id = @configuration_id, bundle_ids = @bundle_ids,
    tags = @tags, allow_serials = @allow_serials, allow_client_ids = @allow_client_ids, deny_serials = @deny_serials,
    deny_client_ids = @deny_client_ids, valid_from = @valid_from, valid_until = @valid_until, reprovision_allowed = @reprovision_allowed,
    provision_broker_url = @provision_broker_url, enabled = @enabled, modified_on = @modified_on, version = @version
  WHERE id = @id AND version = @expected_version`;

/**
 * Enrollment groups: where devices with a factory certificate of a CA land. The unique
 * (account_id, name) constraint refuses a second group of one name in an account (DUPLICATE);
 * the account and the CA must exist (checked here for the right refusal, the foreign keys back it).
 */
export class SqliteEnrollmentGroups {
  constructor(private readonly sql: SqlRunner) {}

  create(input: NewEnrollmentGroup): EnrollmentGroup {
    const group = buildEnrollmentGroup(input, Date.now());
    return this.sql.write(() => {
      if (!this.sql.get('SELECT 1 FROM accounts WHERE id = ?', group.accountId)) throw new PlatformError('NOT_FOUND', { detail: refusal.accountNotFound });
      if (!this.sql.get('SELECT 1 FROM manufacturer_cas WHERE id = ?', group.manufacturerCaId)) {
        throw new PlatformError('NOT_FOUND', { detail: refusal.manufacturerCaNotFound });
      }
      this.sql.run(insertEnrollmentGroup, enrollmentGroupToRow(group));
      return group;
    });
  }

  get(id: string): EnrollmentGroup | null {
    const row = this.sql.get<EnrollmentGroupRow>('SELECT * FROM enrollment_groups WHERE id = ?', id);
    return row ? enrollmentGroupFromRow(row) : null;
  }

  list(filter: EnrollmentGroupFilter = {}): Page<EnrollmentGroup> {
    const conditions = new Conditions()
      .equal('account_id', filter.accountId)
      .equal('manufacturer_ca_id', filter.manufacturerCaId)
      .equal('category', filter.category);
    return selectPage(this.sql, 'enrollment_groups', conditions, 'created_on, id', pageWindow(filter), enrollmentGroupFromRow);
  }

  update(id: string, expectedVersion: number, patch: EnrollmentGroupPatch): EnrollmentGroup {
    return this.sql.write(() => {
      const current = this.get(id);
      if (!current) throw new PlatformError('NOT_FOUND', { detail: refusal.enrollmentGroupNotFound });
      if (current.version !== expectedVersion) throw new PlatformError('VERSION_CONFLICT', { detail: refusal.staleVersion });
      const next = patchEnrollmentGroup(current, patch, Date.now());
      const { changes } = this.sql.run(updateEnrollmentGroup, { ...enrollmentGroupToRow(next), expected_version: expectedVersion });
      if (changes === 0) throw new PlatformError('VERSION_CONFLICT', { detail: refusal.staleVersion });
      return next;
    });
  }

  delete(id: string): void {
    const { changes } = this.sql.run('DELETE FROM enrollment_groups WHERE id = ?', id);
    if (changes === 0) throw new PlatformError('NOT_FOUND', { detail: refusal.enrollmentGroupNotFound });
  }
}
