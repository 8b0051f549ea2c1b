/**
 * What a Redis holds and what it was asked, read from the server itself (bench/redis-footprint.ts):
 * INFO commandstats (calls and server microseconds per command), INFO memory, cpu and stats, and
 * MEMORY USAGE of every key summed by what the key is. The benchmark owns the Redis, so every key
 * is the platform's and a reset of the statistics (CONFIG RESETSTAT) disturbs nobody.
 */
import { Redis } from 'ioredis';

export interface CommandCount {
  readonly calls: number;
  /** Microseconds the server spent executing them (its event loop; not network, not queueing). */
  readonly usec: number;
}

/** INFO commandstats: `cmdstat_evalsha:calls=12,usec=340,…` per command (subcommands as `config|resetstat`). */
export async function commandStats(redis: Redis): Promise<Map<string, CommandCount>> {
  const counts = new Map<string, CommandCount>();
  for (const line of (await redis.info('commandstats')).split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (match) counts.set(match[1]!, { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return counts;
}

/** The numeric fields of INFO sections, e.g. used_memory, used_cpu_user, total_net_input_bytes. */
export async function infoNumbers(redis: Redis, ...sections: string[]): Promise<Map<string, number>> {
  const numbers = new Map<string, number>();
  for (const section of sections) {
    for (const line of (await redis.info(section)).split('\n')) {
      const match = /^([a-z_]+):(-?[\d.]+)\r?$/.exec(line);
      if (match) numbers.set(match[1]!, Number(match[2]));
    }
  }
  return numbers;
}

/**
 * What a key is, without its ids: the store's key type after the prefix (`request`, `device`,
 * `audit-events`, `stream:provision`, …); the brokers' aedes-persistence-redis keys keep role and
 * kind (`mqtt:account:sub:client`). Ids (UUIDs, clientIds, serials) are never in the name kept.
 */
export function keyGroup(key: string, prefix: string): string {
  const rest = key.startsWith(prefix) ? key.slice(prefix.length) : key;
  const parts = rest.split(':');
  if (parts[0] === 'mqtt') return parts.slice(0, 3).join(':') + (parts[2] === 'sub' && parts[3] === 'client' ? ':client' : '');
  if (parts[0] === 'stream') return parts.slice(0, 2).join(':');
  return parts[0] ?? rest;
}

export interface KeyGroupSize {
  readonly keys: number;
  /** MEMORY USAGE … SAMPLES 0: the key, its value and Redis' overhead for them (not the allocator's rounding). */
  readonly bytes: number;
}

/** Every key of the database, MEMORY USAGE summed by keyGroup. SCAN in pages, MEMORY USAGE pipelined. */
export async function keyGroupSizes(redis: Redis, prefix: string): Promise<Map<string, KeyGroupSize>> {
  const groups = new Map<string, KeyGroupSize>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
    const answers = (await pipeline.exec()) ?? [];
    keys.forEach((key, index) => {
      const group = keyGroup(key, prefix);
      const before = groups.get(group) ?? { keys: 0, bytes: 0 };
      groups.set(group, { keys: before.keys + 1, bytes: before.bytes + Number(answers[index]?.[1] ?? 0) });
    });
  } while (cursor !== '0');
  return groups;
}

/** Calls and microseconds of `after` minus `before`, per command, leaving out the commands named in `ignore`. */
export function commandDelta(before: Map<string, CommandCount>, after: Map<string, CommandCount>, ignore: ReadonlySet<string>): Map<string, CommandCount> {
  const delta = new Map<string, CommandCount>();
  for (const [name, count] of after) {
    if (ignore.has(name)) continue;
    const start = before.get(name) ?? { calls: 0, usec: 0 };
    if (count.calls > start.calls) delta.set(name, { calls: count.calls - start.calls, usec: count.usec - start.usec });
  }
  return delta;
}

/** Pattern subscriptions (PUBSUB NUMPAT) and channels with a subscriber (PUBSUB CHANNELS) held by every client of the server. */
export async function pubSubCounts(redis: Redis): Promise<{ patterns: number; channels: number }> {
  const [patterns, channels] = await Promise.all([redis.call('PUBSUB', 'NUMPAT'), redis.call('PUBSUB', 'CHANNELS')]);
  return { patterns: Number(patterns), channels: (channels as unknown[]).length };
}

/**
 * Server microseconds per PUBLISH to `channel`, which no client subscribes to, over `count`
 * PUBLISHes: Redis matches every message against every pattern subscription of every client
 * (PUBLISH is O(N+M), M the patterns), so this is what each message of the shared topic space
 * pays for the patterns held. The channel should look like the real ones (same prefix), because
 * the match of a pattern stops at its first differing character. Platform PUBLISHes made in the
 * same moment are counted too (a handful against thousands).
 */
export async function publishProbe(redis: Redis, channel: string, count: number): Promise<{ publishes: number; usecPerPublish: number }> {
  const before = (await commandStats(redis)).get('publish') ?? { calls: 0, usec: 0 };
  const pipeline = redis.pipeline();
  for (let i = 0; i < count; i += 1) pipeline.publish(channel, 'probe');
  await pipeline.exec();
  const after = (await commandStats(redis)).get('publish') ?? { calls: 0, usec: 0 };
  const publishes = after.calls - before.calls;
  return { publishes, usecPerPublish: publishes === 0 ? 0 : (after.usec - before.usec) / publishes };
}

/**
 * PUBLISH cost against `counts` pattern subscriptions shaped like the account broker's (one
 * `…/{clientId}/CERT-V1/REPLY/*` per device, 1,000 per subscriber connection), on the server at
 * `url` with nothing else subscribed: how the cost the devices of a run showed grows past them.
 * Fewer PUBLISHes per round as the patterns grow, so each round takes a similar time.
 */
export async function patternSweep(url: string, topicPrefix: string, counts: readonly number[]): Promise<{ patterns: number; usecPerPublish: number[] }[]> {
  const probeConnection = new Redis(url);
  const subscribers: Redis[] = [];
  const rows: { patterns: number; usecPerPublish: number[] }[] = [];
  try {
    for (const target of [...counts].sort((a, b) => a - b)) {
      while (subscribers.length * 1000 < target) {
        const subscriber = new Redis(url);
        const first = subscribers.length * 1000;
        await subscriber.psubscribe(...Array.from({ length: 1000 }, (_, i) => `${topicPrefix}sweep-${String(first + i).padStart(7, '0')}/CERT-V1/REPLY/*`));
        subscribers.push(subscriber);
      }
      const publishes = Math.max(20, Math.floor(2_000_000 / Math.max(1000, target)));
      const usecPerPublish: number[] = [];
      for (let round = 0; round < 5; round += 1) {
        usecPerPublish.push((await publishProbe(probeConnection, `${topicPrefix}sweep-probe/MQTT/BIRTH`, publishes)).usecPerPublish);
      }
      rows.push({ patterns: subscribers.length * 1000, usecPerPublish });
    }
  } finally {
    for (const subscriber of subscribers) subscriber.disconnect();
    probeConnection.disconnect();
  }
  return rows;
}
