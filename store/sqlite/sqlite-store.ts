import type Database from 'better-sqlite3';
import { assembleStore } from '../assemble-store.ts';
import type { ProvisionStore } from '../types.ts';
import { openDatabase, type SqliteOpenOptions } from './open-database.ts';
import { SqliteAccounts } from './sqlite-accounts.ts';
import { SqliteAttachments } from './sqlite-attachments.ts';
import { SqliteAudit } from './sqlite-audit.ts';
import { SqliteBrokerHeartbeats } from './sqlite-broker-heartbeats.ts';
import { SqliteCategories } from './sqlite-categories.ts';
import { findClientIdHolders } from './sqlite-client-id-holders.ts';
import { SqliteCertificates } from './sqlite-certificates.ts';
import { SqliteDevices } from './sqlite-devices.ts';
import { SqliteDeviceAssignments } from './sqlite-device-assignments.ts';
import { SqliteEnrollmentGroups } from './sqlite-enrollment-groups.ts';
import { SqliteManufacturerCas } from './sqlite-manufacturer-cas.ts';
import { SqliteProvisioningCodes } from './sqlite-provisioning-codes.ts';
import { storeErrorFromSqlite } from './sqlite-errors.ts';
import { SqliteProvisionRequests } from './sqlite-provision-requests.ts';
import { SqliteUpdateJobs } from './sqlite-update-jobs.ts';
import { SqliteWebhooks } from './sqlite-webhooks.ts';
import { SqlRunner } from './sql-runner.ts';

/** Opens the embedded store on `file` (usually {dataDir}/provisio.db; ':memory:' for tests). */
export function openSqliteStore(file: string, options: SqliteOpenOptions = {}): ProvisionStore {
  return sqliteStore(openDatabase(file, options));
}

/**
 * The embedded backend. better-sqlite3 is synchronous, so each call runs to completion before
 * the next starts; transactions make the same hold against other processes using the file.
 */
function sqliteStore(db: Database.Database): ProvisionStore {
  const sql = new SqlRunner(db);
  const requests = new SqliteProvisionRequests(sql);
  const audit = new SqliteAudit(sql);

  /**
   * Runs synchronous work, turning SQLite failures into the store's error codes. Work that wrote
   * settles when its group commit has (group-commit.ts).
   */
  async function run<T>(work: () => T): Promise<T> {
    const writesBefore = sql.writes;
    let result: T;
    try {
      result = work();
    } catch (error) {
      throw storeErrorFromSqlite(error);
    }
    if (sql.writes === writesBefore) return result;
    return sql.group.committed(result).catch((error: unknown) => {
      throw storeErrorFromSqlite(error);
    });
  }

  const parts = {
    accounts: new SqliteAccounts(sql),
    requests,
    clientIdHolders: { find: (clientIds: readonly string[]) => findClientIdHolders(sql, clientIds) },
    attachments: new SqliteAttachments(sql),
    certificates: new SqliteCertificates(sql),
    categories: new SqliteCategories(sql),
    devices: new SqliteDevices(sql),
    updateJobs: new SqliteUpdateJobs(sql),
    brokerHeartbeats: new SqliteBrokerHeartbeats(sql),
    webhooks: new SqliteWebhooks(sql),
    manufacturerCas: new SqliteManufacturerCas(sql),
    enrollmentGroups: new SqliteEnrollmentGroups(sql),
    provisioningCodes: new SqliteProvisioningCodes(sql),
    deviceAssignments: new SqliteDeviceAssignments(sql),
    audit,
  };
  return assembleStore<'sync'>(parts, run, {
    backend: 'sqlite',
    createProvisionRequests: (newRequests, options = {}) => run(() => requests.createMany(newRequests, options, (event) => audit.append(event))),

    getSetting: (key) => run(() => sql.get<{ value: string }>('SELECT value FROM settings WHERE key = ?', key)?.value ?? null),
    setSettingIfAbsent: (key, value) =>
      run(() =>
        sql.write(() => {
          sql.run('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', key, value);
          return sql.get<{ value: string }>('SELECT value FROM settings WHERE key = ?', key)?.value ?? value;
        }),
      ),

    listSettings: (prefix) =>
      run(() => sql.all<{ key: string; value: string }>('SELECT key, value FROM settings WHERE substr(key, 1, length(?)) = ? ORDER BY key', prefix, prefix)),
    replaceSetting: (key, expected, value) =>
      run(() => sql.write(() => sql.run('UPDATE settings SET value = ? WHERE key = ? AND value = ?', value, key, expected).changes === 1)),

    /**
     * secure_delete overwrites the row's bytes in its page, and the checkpoint puts that page into
     * the database file and empties the WAL now, rather than at the next automatic checkpoint.
     */
    deleteSetting: async (key) => {
      await run(() =>
        sql.write(() => {
          const previous = db.pragma('secure_delete', { simple: true });
          db.pragma('secure_delete = ON');
          try {
            sql.run('DELETE FROM settings WHERE key = ?', key);
          } finally {
            db.pragma(`secure_delete = ${Number(previous)}`);
          }
        }),
      );
      await run(() => {
        sql.group.commit(); // a checkpoint runs outside a transaction
        db.pragma('wal_checkpoint(TRUNCATE)');
      });
    },

    /** Nothing to wait for: the one database file is the store. */
    awaitReplication: async () => undefined,

    /** Folds the WAL back into the database file, so the file alone is a complete copy. Idempotent. */
    close: async () => {
      if (!db.open) return;
      try {
        sql.group.commit();
        db.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        db.close();
      }
    },
  });
}
