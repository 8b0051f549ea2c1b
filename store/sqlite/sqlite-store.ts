import type Database from 'better-sqlite3';
import type {
  Account,
  AccountPatch,
  ClientIdHolders,
  AuditEvent,
  AuditExpiry,
  AuditFilter,
  BundleMetadata,
  CertificateFilter,
  Configuration,
  CreateProvisionRequestsOptions,
  DeviceFilter,
  DevicePatch,
  DeviceRecord,
  IssuedCertificate,
  NewAccount,
  NewAuditEvent,
  NewBundle,
  NewCertificate,
  NewConfiguration,
  NewProvisionRequest,
  Page,
  PageOptions,
  ProvisionRequest,
  ProvisionRequestCreation,
  ProvisionRequestFilter,
  ProvisionRequestPatch,
  ProvisionStore,
} from '../types.ts';
import { deleteExpiredAuditEvents } from '../audit-expiry.ts';
import { openDatabase, type SqliteOpenOptions } from './open-database.ts';
import { SqliteAccounts } from './sqlite-accounts.ts';
import { SqliteAttachments } from './sqlite-attachments.ts';
import { SqliteAudit } from './sqlite-audit.ts';
import { findClientIdHolders } from './sqlite-client-id-holders.ts';
import { SqliteCertificates } from './sqlite-certificates.ts';
import { SqliteDevices } from './sqlite-devices.ts';
import { storeErrorFromSqlite } from './sqlite-errors.ts';
import { SqliteProvisionRequests } from './sqlite-provision-requests.ts';
import { SqlRunner } from './sql-runner.ts';

/** Opens the embedded store on `file` (usually {dataDir}/provisio.db; ':memory:' for tests). */
export function openSqliteStore(file: string, options: SqliteOpenOptions = {}): SqliteStore {
  return new SqliteStore(openDatabase(file, options));
}

/**
 * The embedded backend. better-sqlite3 is synchronous, so each call runs to completion before
 * the next starts; transactions make the same hold against other processes using the file.
 */
export class SqliteStore implements ProvisionStore {
  readonly backend = 'sqlite' as const;
  private readonly sql: SqlRunner;
  private readonly accounts: SqliteAccounts;
  private readonly requests: SqliteProvisionRequests;
  private readonly attachments: SqliteAttachments;
  private readonly certificates: SqliteCertificates;
  private readonly devices: SqliteDevices;
  private readonly audit: SqliteAudit;

  constructor(private readonly db: Database.Database) {
    this.sql = new SqlRunner(db);
    this.accounts = new SqliteAccounts(this.sql);
    this.requests = new SqliteProvisionRequests(this.sql);
    this.attachments = new SqliteAttachments(this.sql);
    this.certificates = new SqliteCertificates(this.sql);
    this.devices = new SqliteDevices(this.sql);
    this.audit = new SqliteAudit(this.sql);
  }

  createAccount(account: NewAccount): Promise<Account> {
    return this.run(() => this.accounts.create(account));
  }
  getAccount(id: string): Promise<Account | null> {
    return this.run(() => this.accounts.get(id));
  }
  getAccountByName(name: string): Promise<Account | null> {
    return this.run(() => this.accounts.getByName(name));
  }
  listAccounts(page?: PageOptions): Promise<Page<Account>> {
    return this.run(() => this.accounts.list(page));
  }
  updateAccount(id: string, expectedVersion: number, patch: AccountPatch): Promise<Account> {
    return this.run(() => this.accounts.update(id, expectedVersion, patch));
  }
  deleteAccount(id: string): Promise<void> {
    return this.run(() => this.accounts.delete(id));
  }

  createProvisionRequest(request: NewProvisionRequest): Promise<ProvisionRequest> {
    return this.run(() => this.requests.create(request));
  }
  createProvisionRequests(requests: readonly NewProvisionRequest[], options: CreateProvisionRequestsOptions = {}): Promise<ProvisionRequestCreation[]> {
    return this.run(() => this.requests.createMany(requests, options, (event) => this.audit.append(event)));
  }
  getProvisionRequest(id: string): Promise<ProvisionRequest | null> {
    return this.run(() => this.requests.get(id));
  }
  findEnabledProvisionRequest(clientId: string): Promise<ProvisionRequest | null> {
    return this.run(() => this.requests.findEnabled(clientId));
  }
  listProvisionRequests(filter?: ProvisionRequestFilter): Promise<Page<ProvisionRequest>> {
    return this.run(() => this.requests.list(filter));
  }
  findClientIdHolders(clientIds: readonly string[]): Promise<ReadonlyMap<string, ClientIdHolders>> {
    return this.run(() => findClientIdHolders(this.sql, clientIds));
  }
  updateProvisionRequest(id: string, expectedVersion: number, patch: ProvisionRequestPatch): Promise<ProvisionRequest> {
    return this.run(() => this.requests.update(id, expectedVersion, patch));
  }
  deleteProvisionRequest(id: string): Promise<void> {
    return this.run(() => this.requests.delete(id));
  }
  replaceProvisionRequest(existingId: string, request: NewProvisionRequest): Promise<ProvisionRequest> {
    return this.run(() => this.requests.replace(existingId, request));
  }

  createConfiguration(configuration: NewConfiguration): Promise<Configuration> {
    return this.run(() => this.attachments.createConfiguration(configuration));
  }
  getConfiguration(id: string): Promise<Configuration | null> {
    return this.run(() => this.attachments.getConfiguration(id));
  }
  listConfigurations(accountId: string, page?: PageOptions): Promise<Page<Configuration>> {
    return this.run(() => this.attachments.listConfigurations(accountId, page));
  }
  deleteConfiguration(id: string): Promise<void> {
    return this.run(() => this.attachments.deleteConfiguration(id));
  }

  createBundle(bundle: NewBundle): Promise<BundleMetadata> {
    return this.run(() => this.attachments.createBundle(bundle));
  }
  getBundle(id: string): Promise<BundleMetadata | null> {
    return this.run(() => this.attachments.getBundle(id));
  }
  listBundles(accountId: string, page?: PageOptions): Promise<Page<BundleMetadata>> {
    return this.run(() => this.attachments.listBundles(accountId, page));
  }
  deleteBundle(id: string): Promise<void> {
    return this.run(() => this.attachments.deleteBundle(id));
  }

  recordCertificate(certificate: NewCertificate): Promise<IssuedCertificate> {
    return this.run(() => this.certificates.record(certificate));
  }
  getCertificate(serial: string): Promise<IssuedCertificate | null> {
    return this.run(() => this.certificates.get(serial));
  }
  listCertificates(filter?: CertificateFilter): Promise<Page<IssuedCertificate>> {
    return this.run(() => this.certificates.list(filter));
  }
  revokeCertificate(serial: string, reason: string): Promise<IssuedCertificate> {
    return this.run(() => this.certificates.revoke(serial, reason));
  }
  listRevokedCertificates(): Promise<readonly IssuedCertificate[]> {
    return this.run(() => this.certificates.listRevoked());
  }

  upsertDevice(accountId: string, clientId: string, patch: DevicePatch): Promise<DeviceRecord> {
    return this.run(() => this.devices.upsert(accountId, clientId, patch));
  }
  getDevice(accountId: string, clientId: string): Promise<DeviceRecord | null> {
    return this.run(() => this.devices.get(accountId, clientId));
  }
  listDevices(filter?: DeviceFilter): Promise<Page<DeviceRecord>> {
    return this.run(() => this.devices.list(filter));
  }
  deleteDevice(accountId: string, clientId: string): Promise<void> {
    return this.run(() => this.devices.delete(accountId, clientId));
  }

  appendAudit(event: NewAuditEvent): Promise<AuditEvent> {
    return this.run(() => this.audit.append(event));
  }
  listAudit(filter?: AuditFilter): Promise<Page<AuditEvent>> {
    return this.run(() => this.audit.list(filter));
  }
  deleteExpiredAudit(expiry: AuditExpiry): Promise<number> {
    return deleteExpiredAuditEvents(
      {
        oldest: (limit) => this.run(() => this.audit.oldest(limit)),
        deleteThrough: (lastId) => this.run(() => this.audit.deleteThrough(lastId)),
      },
      expiry,
    );
  }

  getSetting(key: string): Promise<string | null> {
    return this.run(() => this.sql.get<{ value: string }>('SELECT value FROM settings WHERE key = ?', key)?.value ?? null);
  }
  setSettingIfAbsent(key: string, value: string): Promise<string> {
    return this.run(() =>
      this.sql.write(() => {
        this.sql.run('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', key, value);
        return this.sql.get<{ value: string }>('SELECT value FROM settings WHERE key = ?', key)?.value ?? value;
      }),
    );
  }

  /**
   * secure_delete overwrites the row's bytes in its page, and the checkpoint puts that page into
   * the database file and empties the WAL now, rather than at the next automatic checkpoint.
   */
  async deleteSetting(key: string): Promise<void> {
    await this.run(() =>
      this.sql.write(() => {
        const previous = this.db.pragma('secure_delete', { simple: true });
        this.db.pragma('secure_delete = ON');
        try {
          this.sql.run('DELETE FROM settings WHERE key = ?', key);
        } finally {
          this.db.pragma(`secure_delete = ${Number(previous)}`);
        }
      }),
    );
    await this.run(() => {
      this.sql.group.commit(); // a checkpoint runs outside a transaction
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    });
  }

  /** Folds the WAL back into the database file, so the file alone is a complete copy. Idempotent. */
  async close(): Promise<void> {
    if (!this.db.open) return;
    try {
      this.sql.group.commit();
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      this.db.close();
    }
  }

  /**
   * Runs synchronous work, turning SQLite failures into the store's error codes. Work that wrote
   * settles when its group commit has (group-commit.ts).
   */
  private async run<T>(work: () => T): Promise<T> {
    const writesBefore = this.sql.writes;
    let result: T;
    try {
      result = work();
    } catch (error) {
      throw storeErrorFromSqlite(error);
    }
    if (this.sql.writes === writesBefore) return result;
    return this.sql.group.committed(result).catch((error: unknown) => {
      throw storeErrorFromSqlite(error);
    });
  }
}
