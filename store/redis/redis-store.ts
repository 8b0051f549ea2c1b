import type { Redis } from 'ioredis';
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
import { deviceScripts } from './device-scripts.ts';
import { recordScripts, setSettingIfAbsentScript } from './record-scripts.ts';
import { RedisAccounts } from './redis-accounts.ts';
import { RedisAttachments } from './redis-attachments.ts';
import { RedisAudit } from './redis-audit.ts';
import { RedisClientIdHolders } from './redis-client-id-holders.ts';
import { RedisCertificates } from './redis-certificates.ts';
import { RedisDevices } from './redis-devices.ts';
import { connectRedis, storeErrorFromRedis, type RedisConnectionOptions } from './redis-connection.ts';
import type { RedisContext } from './redis-context.ts';
import { RedisKeys } from './redis-keys.ts';
import { RedisProvisionRequests } from './redis-provision-requests.ts';
import { requestScripts } from './request-scripts.ts';
import { ScriptRunner } from './script-runner.ts';

export interface RedisStoreOptions extends RedisConnectionOptions {
  readonly url: string;
  /** Prefix of every key, so several platforms (or test runs) can share one Redis. */
  readonly keyPrefix: string;
}

/** Connects (STORE_UNAVAILABLE if Redis cannot be reached now) and returns the store. */
export async function openRedisStore(options: RedisStoreOptions): Promise<RedisStore> {
  const redis = await connectRedis(options.url, options);
  return new RedisStore(redis, options.keyPrefix);
}

/**
 * The scale-out backend: any number of platform processes share one Redis. Every
 * check-then-write is a Lua script (see script-runner.ts), so concurrent workers cannot both
 * win a race that SQLite would settle with a transaction.
 */
export class RedisStore implements ProvisionStore {
  readonly backend = 'redis' as const;
  private readonly context: RedisContext;
  private readonly accounts: RedisAccounts;
  private readonly requests: RedisProvisionRequests;
  private readonly attachments: RedisAttachments;
  private readonly certificates: RedisCertificates;
  private readonly devices: RedisDevices;
  private readonly audit: RedisAudit;
  private readonly clientIdHolders: RedisClientIdHolders;

  constructor(
    private readonly redis: Redis,
    keyPrefix: string,
  ) {
    const scripts = new ScriptRunner(redis, [...requestScripts, ...recordScripts, ...deviceScripts]);
    this.context = { redis, keys: new RedisKeys(keyPrefix), scripts };
    this.accounts = new RedisAccounts(this.context);
    this.requests = new RedisProvisionRequests(this.context);
    this.attachments = new RedisAttachments(this.context);
    this.certificates = new RedisCertificates(this.context);
    this.devices = new RedisDevices(this.context);
    this.audit = new RedisAudit(this.context);
    this.clientIdHolders = new RedisClientIdHolders(this.context);
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
    return this.run(() => this.requests.createMany(requests, options));
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
    return this.run(() => this.clientIdHolders.find(clientIds));
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
        deleteThrough: (lastId, events) => this.run(() => this.audit.deleteThrough(lastId, events)),
      },
      expiry,
    );
  }

  getSetting(key: string): Promise<string | null> {
    return this.run(() => this.redis.hget(this.context.keys.settings(), key));
  }
  setSettingIfAbsent(key: string, value: string): Promise<string> {
    return this.run(async () => {
      const { values } = await this.context.scripts.run(setSettingIfAbsentScript, [this.context.keys.settings()], [key, value]);
      return String(values[0]);
    });
  }

  /** HDEL: later RDB snapshots do not hold it; an append-only file does until Redis rewrites it (BGREWRITEAOF). */
  async deleteSetting(key: string): Promise<void> {
    await this.run(() => this.redis.hdel(this.context.keys.settings(), key));
  }

  /** QUIT lets pending replies arrive; a Redis that is gone gets one second, then the socket is dropped. Idempotent. */
  async close(): Promise<void> {
    if (this.redis.status === 'end') return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([this.redis.quit(), new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
    } catch {
      // Already disconnected: nothing left to flush.
    } finally {
      clearTimeout(timer);
      this.redis.disconnect();
    }
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw storeErrorFromRedis(error);
    }
  }
}
