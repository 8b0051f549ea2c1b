import type { Redis } from 'ioredis';
import { PlatformError } from '../../errors/platform-error.ts';
import { assembleStore } from '../assemble-store.ts';
import type { ProvisionStore, SettingEntry } from '../types.ts';
import { categoryScripts } from './category-scripts.ts';
import { configurationScripts } from './configuration-scripts.ts';
import { deviceScripts } from './device-scripts.ts';
import { enrollmentScripts } from './enrollment-scripts.ts';
import { recordScripts, replaceSettingScript, setSettingIfAbsentScript } from './record-scripts.ts';
import { RedisAccounts } from './redis-accounts.ts';
import { RedisAttachments } from './redis-attachments.ts';
import { RedisAudit } from './redis-audit.ts';
import { RedisBrokerHeartbeats } from './redis-broker-heartbeats.ts';
import { RedisWebhooks, webhookScripts } from './redis-webhooks.ts';
import { RedisCategories } from './redis-categories.ts';
import { RedisClientIdHolders } from './redis-client-id-holders.ts';
import { RedisCertificates } from './redis-certificates.ts';
import { RedisDevices } from './redis-devices.ts';
import { RedisDeviceAssignments } from './redis-device-assignments.ts';
import { RedisEnrollmentGroups } from './redis-enrollment-groups.ts';
import { RedisManufacturerCas } from './redis-manufacturer-cas.ts';
import { RedisProvisioningCodes } from './redis-provisioning-codes.ts';
import { provisioningCodeScripts } from './provisioning-code-scripts.ts';
import { connectRedis, storeErrorFromRedis, type RedisConnectionOptions } from './redis-connection.ts';
import type { RedisContext } from './redis-context.ts';
import { RedisKeys } from './redis-keys.ts';
import { RedisProvisionRequests } from './redis-provision-requests.ts';
import { RedisUpdateJobs } from './redis-update-jobs.ts';
import { requestScripts } from './request-scripts.ts';
import { ScriptRunner } from './script-runner.ts';
import { updateJobScripts } from './update-job-scripts.ts';

export interface RedisStoreOptions extends RedisConnectionOptions {
  readonly url: string;
  /** Set: the Sentinels (host:port) to ask where the master is; the URL then gives only its credentials, database and TLS. */
  readonly sentinels?: readonly string[] | undefined;
  /** The master name the Sentinels watch. */
  readonly sentinelName?: string | undefined;
  /** Replicas that must acknowledge this process's writes in awaitReplication (0: none), and for how long it waits. */
  readonly waitReplicas?: number | undefined;
  readonly waitTimeoutMs?: number | undefined;
  /** Prefix of every key, so several platforms (or test runs) can share one Redis. */
  readonly keyPrefix: string;
}

/** Connects (STORE_UNAVAILABLE if Redis cannot be reached now) and returns the store. */
export async function openRedisStore(options: RedisStoreOptions): Promise<ProvisionStore> {
  const redis = await connectRedis({ redisUrl: options.url, redisSentinels: options.sentinels, redisSentinelName: options.sentinelName }, options);
  return redisStore(redis, options.keyPrefix, { replicas: options.waitReplicas ?? 0, timeoutMs: options.waitTimeoutMs ?? 1000 });
}

/**
 * The scale-out backend: any number of platform processes share one Redis. Every
 * check-then-write is a Lua script (see script-runner.ts), so concurrent workers cannot both
 * win a race that SQLite would settle with a transaction.
 */
function redisStore(redis: Redis, keyPrefix: string, replication: { readonly replicas: number; readonly timeoutMs: number }): ProvisionStore {
  const scripts = new ScriptRunner(redis, [
    ...requestScripts,
    ...recordScripts,
    ...configurationScripts,
    ...categoryScripts,
    ...deviceScripts,
    ...updateJobScripts,
    ...webhookScripts,
    ...enrollmentScripts,
    ...provisioningCodeScripts,
  ]);
  const context: RedisContext = { redis, keys: new RedisKeys(keyPrefix), scripts };
  const requests = new RedisProvisionRequests(context);
  const parts = {
    accounts: new RedisAccounts(context),
    requests,
    clientIdHolders: new RedisClientIdHolders(context),
    attachments: new RedisAttachments(context),
    certificates: new RedisCertificates(context),
    categories: new RedisCategories(context),
    devices: new RedisDevices(context),
    updateJobs: new RedisUpdateJobs(context),
    brokerHeartbeats: new RedisBrokerHeartbeats(context),
    webhooks: new RedisWebhooks(context),
    manufacturerCas: new RedisManufacturerCas(context),
    enrollmentGroups: new RedisEnrollmentGroups(context),
    provisioningCodes: new RedisProvisioningCodes(context),
    deviceAssignments: new RedisDeviceAssignments(context),
    audit: new RedisAudit(context),
  };
  return assembleStore<'async'>(parts, run, {
    backend: 'redis',
    createProvisionRequests: (newRequests, options = {}) => run(() => requests.createMany(newRequests, options)),

    getSetting: (key) => run(() => redis.hget(context.keys.settings(), key)),
    setSettingIfAbsent: (key, value) =>
      run(async () => {
        const { values } = await scripts.run(setSettingIfAbsentScript, [context.keys.settings()], [key, value]);
        return String(values[0]);
      }),

    /** HSCAN of the settings hash (a few hundred fields at most), filtered here: a MATCH pattern would need the prefix's glob characters escaped. */
    listSettings: (prefix) =>
      run(async () => {
        const entries: SettingEntry[] = [];
        let cursor = '0';
        do {
          const [next, flat] = await redis.hscan(context.keys.settings(), cursor, 'COUNT', 500);
          cursor = next;
          for (let index = 0; index + 1 < flat.length; index += 2) {
            const key = flat[index]!;
            if (key.startsWith(prefix)) entries.push({ key, value: flat[index + 1]! });
          }
        } while (cursor !== '0');
        return [...new Map(entries.map((entry) => [entry.key, entry])).values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      }),
    replaceSetting: (key, expected, value) =>
      run(async () => {
        const { values } = await scripts.run(replaceSettingScript, [context.keys.settings()], [key, expected, value]);
        return Number(values[0]) === 1;
      }),

    /** HDEL: later RDB snapshots do not hold it; an append-only file does until Redis rewrites it (BGREWRITEAOF). */
    deleteSetting: async (key) => {
      await run(() => redis.hdel(context.keys.settings(), key));
    },

    /**
     * WAIT on the store's one connection: it covers every write this process made before it. A
     * master left without enough replicas answers fewer than asked once the timeout has passed.
     */
    awaitReplication: async () => {
      if (replication.replicas === 0) return;
      const acknowledged = Number(await run(() => redis.call('WAIT', replication.replicas, replication.timeoutMs)));
      if (acknowledged < replication.replicas) {
        throw new PlatformError('STORE_UNAVAILABLE', {
          retryAfterSeconds: 1,
          detail: `${acknowledged} of ${replication.replicas} Redis replicas acknowledged the writes within ${replication.timeoutMs} ms`,
        });
      }
    },

    /** QUIT lets pending replies arrive; a Redis that is gone gets one second, then the socket is dropped. Idempotent. */
    close: async () => {
      if (redis.status === 'end') return;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([redis.quit(), new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
      } catch {
        // Already disconnected: nothing left to flush.
      } finally {
        clearTimeout(timer);
        redis.disconnect();
      }
    },
  });
}

/** Runs a Redis call, turning its failures into the store's error codes. */
async function run<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw storeErrorFromRedis(error);
  }
}
