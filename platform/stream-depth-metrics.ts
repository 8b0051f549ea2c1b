import type { Redis } from 'ioredis';
import { provisionStreamGroup, provisionStreamKey } from '../cluster/provision-stream.ts';
import { readStreamDepthWith } from '../metrics/metrics.ts';

/**
 * Cluster: provisio_provision_stream_length and _pending read from Redis at each scrape (XLEN and
 * the summary form of XPENDING: two O(1) commands), on a connection that no XREADGROUP … BLOCK
 * holds. Until the returned function is called.
 */
export function reportProvisionStreamDepth(redis: Redis, redisKeyPrefix: string): () => void {
  const key = provisionStreamKey(redisKeyPrefix);
  return readStreamDepthWith(async () => {
    const [length, summary] = await Promise.all([redis.xlen(key), redis.xpending(key, provisionStreamGroup).catch(() => [0])]);
    return { length, pending: Number((summary as unknown[])[0] ?? 0) };
  });
}
