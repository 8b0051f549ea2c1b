/**
 * Looking for secrets in raw bytes: the SQLite files of a data directory, a Redis snapshot. A
 * secret is searched in every form code could have written it (raw, base64, base64url, hex).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { sqliteFileName } from '../../store/open-store.ts';

export function encodingsOf(secret: Buffer): Record<string, Buffer> {
  return {
    raw: secret,
    base64: Buffer.from(secret.toString('base64')),
    'base64 unpadded': Buffer.from(secret.toString('base64').replace(/=+$/, '')),
    base64url: Buffer.from(secret.toString('base64url')),
    hex: Buffer.from(secret.toString('hex')),
  };
}

/** The encodings of `secret` found in `bytes` (empty: not there in any form). */
export function foundIn(bytes: Buffer, secret: Buffer): string[] {
  return Object.entries(encodingsOf(secret))
    .filter(([, encoded]) => bytes.includes(encoded))
    .map(([name]) => name);
}

/** The database file and, when present, its WAL and shared-memory files, as a copy of them would hold. */
export function sqliteBytes(dataDir: string): Buffer {
  const base = join(dataDir, sqliteFileName);
  return Buffer.concat([base, `${base}-wal`, `${base}-shm`].filter((file) => existsSync(file)).map((file) => readFileSync(file)));
}

/** An RDB snapshot of the whole server written now, uncompressed so that strings appear as they are. */
export async function redisSnapshotBytes(url: string): Promise<Buffer> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    await redis.config('SET', 'rdbcompression', 'no');
    await redis.save();
    const [, dir] = (await redis.config('GET', 'dir')) as [string, string];
    const [, file] = (await redis.config('GET', 'dbfilename')) as [string, string];
    return readFileSync(join(dir, file));
  } finally {
    redis.disconnect();
  }
}
