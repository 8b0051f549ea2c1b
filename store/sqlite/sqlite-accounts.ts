import { PlatformError } from '../../errors/platform-error.ts';
import { buildAccount, pageWindow, patchAccount, refusal } from '../records.ts';
import type { Account, AccountPatch, NewAccount, Page, PageOptions } from '../types.ts';
import { accountFromRow, accountToRow, type AccountRow } from './row-mapping.ts';
import { Conditions, selectPage, type SqlRunner } from './sql-runner.ts';

const insertAccount = `
  INSERT INTO accounts (id, name, broker_url, configuration_template, default_bundle_ids, created_on, modified_on, version)
  VALUES (@id, @name, @broker_url, @configuration_template, @default_bundle_ids, @created_on, @modified_on, @version)`;

const updateAccount = `
  UPDATE accounts SET name = @name, broker_url = @broker_url, configuration_template = @configuration_template,
    default_bundle_ids = @default_bundle_ids, modified_on = @modified_on, version = @version
  WHERE id = @id AND version = @expected_version`;

/** Tables whose rows keep an account from being deleted, with the refusal each gives. */
const accountDependents = [
  { table: 'provision_requests', detail: refusal.accountHasRequests },
  { table: 'configurations', detail: refusal.accountHasConfigurations },
  { table: 'bundles', detail: refusal.accountHasBundles },
  { table: 'enrollment_groups', detail: refusal.accountHasEnrollmentGroups },
  { table: 'provisioning_codes', detail: refusal.accountHasProvisioningCodes },
] as const;

export class SqliteAccounts {
  constructor(private readonly sql: SqlRunner) {}

  create(input: NewAccount): Account {
    const account = buildAccount(input, Date.now());
    this.sql.run(insertAccount, accountToRow(account));
    return account;
  }

  get(id: string): Account | null {
    const row = this.sql.get<AccountRow>('SELECT * FROM accounts WHERE id = ?', id);
    return row ? accountFromRow(row) : null;
  }

  getByName(name: string): Account | null {
    const row = this.sql.get<AccountRow>('SELECT * FROM accounts WHERE name = ?', name);
    return row ? accountFromRow(row) : null;
  }

  list(page?: PageOptions): Page<Account> {
    return selectPage(this.sql, 'accounts', new Conditions(), 'created_on, id', pageWindow(page), accountFromRow);
  }

  update(id: string, expectedVersion: number, patch: AccountPatch): Account {
    return this.sql.write(() => {
      const current = this.get(id);
      if (!current) throw new PlatformError('NOT_FOUND', { detail: refusal.accountNotFound });
      if (current.version !== expectedVersion) throw new PlatformError('VERSION_CONFLICT', { detail: refusal.staleVersion });
      const next = patchAccount(current, patch, Date.now());
      const { changes } = this.sql.run(updateAccount, { ...accountToRow(next), expected_version: expectedVersion });
      if (changes === 0) throw new PlatformError('VERSION_CONFLICT', { detail: refusal.staleVersion });
      return next;
    });
  }

  delete(id: string): void {
    this.sql.write(() => {
      if (!this.get(id)) throw new PlatformError('NOT_FOUND', { detail: refusal.accountNotFound });
      for (const { table, detail } of accountDependents) {
        if (this.sql.get(`SELECT 1 FROM ${table} WHERE account_id = ? LIMIT 1`, id)) {
          throw new PlatformError('DUPLICATE', { detail });
        }
      }
      // Its categories are the account's own settings, not something that keeps it: they go with it.
      this.sql.run('DELETE FROM categories WHERE account_id = ?', id);
      this.sql.run('DELETE FROM accounts WHERE id = ?', id);
    });
  }
}
