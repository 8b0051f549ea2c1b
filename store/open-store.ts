import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PlatformConfig } from '../config/schema.ts';
import { describeErrno, errnoOf } from '../errors/file-system-cause.ts';
import { PlatformError } from '../errors/platform-error.ts';
import { openRedisStore } from './redis/redis-store.ts';
import { openSqliteStore } from './sqlite/sqlite-store.ts';
import type { ProvisionStore } from './types.ts';

export type StoreConfig = Pick<PlatformConfig, 'dataDir' | 'storeBackend' | 'redisUrl' | 'redisKeyPrefix'> &
  Partial<Pick<PlatformConfig, 'sqliteSynchronous' | 'redisSentinels' | 'redisSentinelName' | 'redisWaitReplicas' | 'redisWaitTimeoutMs'>>;

export const sqliteFileName = 'provisio.db';

export interface OpenStoreOptions {
  /** Told about Redis connection problems (calls that fail report them as STORE_UNAVAILABLE too). */
  readonly onConnectionError?: (error: Error) => void;
}

/** Opens the configured backend: SQLite in {dataDir}/provisio.db, or Redis under the key prefix. */
export async function openStore(config: StoreConfig, options: OpenStoreOptions = {}): Promise<ProvisionStore> {
  if (config.storeBackend === 'redis') {
    return openRedisStore({
      url: config.redisUrl,
      sentinels: config.redisSentinels,
      sentinelName: config.redisSentinelName,
      waitReplicas: config.redisWaitReplicas,
      waitTimeoutMs: config.redisWaitTimeoutMs,
      keyPrefix: config.redisKeyPrefix,
      ...options,
    });
  }
  try {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    const code = errnoOf(error);
    throw new PlatformError('DATA_DIR_UNUSABLE', { detail: `cannot create ${config.dataDir}${code ? `: ${describeErrno(code)}` : ''}`, cause: error });
  }
  return openSqliteStore(join(config.dataDir, sqliteFileName), { synchronous: config.sqliteSynchronous ?? 'normal' });
}
