/**
 * Issue 5 §3, measured instead of guessed: how long a provisioning-shaped MQTT session takes
 * (CONNECT clean, SUBSCRIBE QoS 1, PUBLISH QoS 1 to itself, receive it, DISCONNECT) on one aedes
 * broker with its state in memory, with the shared emitter on Redis, and with Redis persistence
 * with and without the clean-session shortcut (broker/clean-session-persistence.ts).
 *
 *   node --import tsx scripts/measure-broker-connects.ts [--count 300] [--concurrency 20]
 *
 * Needs redis-server on the PATH (a private one is started on a free port).
 */
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { Aedes } from 'aedes';
import { connectAsync } from 'mqtt';
import { brokerBackends, closeBrokerBackends, sharedEmitter, type BrokerBackends } from '../broker/shared-state.ts';
import { createLogger } from '../log/logger.ts';
import { startRedisServer } from '../dev-support/redis-server.ts';

const { values } = parseArgs({ options: { count: { type: 'string', default: '300' }, concurrency: { type: 'string', default: '20' } } });
const count = Number(values.count);
const concurrency = Number(values.concurrency);
const log = createLogger('silent');

interface Variant {
  readonly name: string;
  readonly backends: (redisUrl: string) => BrokerBackends | { mq: unknown } | null;
}

const variants: Variant[] = [
  { name: 'memory (all-in-one)', backends: () => null },
  { name: 'emitter on Redis, persistence in memory', backends: (url) => ({ mq: sharedEmitter({ redisUrl: url }, 'm:topic/', log) }) },
  {
    name: 'Redis persistence + emitter, clean sessions shortcut (default)',
    backends: (url) => brokerBackends({ brokerSharedState: 'redis', brokerCleanSessionsInRedis: false, redisUrl: url, redisKeyPrefix: 'm:' }, 'provision', log),
  },
  {
    name: 'Redis persistence + emitter, everything in Redis',
    backends: (url) => brokerBackends({ brokerSharedState: 'redis', brokerCleanSessionsInRedis: true, redisUrl: url, redisKeyPrefix: 'm:' }, 'provision', log),
  },
];

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function session(port: number, index: number, round: string): Promise<{ connectMs: number; totalMs: number }> {
  const clientId = `m-${round}-${index}`;
  const start = performance.now();
  const client = await connectAsync(`mqtt://127.0.0.1:${port}`, { clientId, clean: true, reconnectPeriod: 0, protocolVersion: 4 });
  const connectMs = performance.now() - start;
  const topic = `$EDC/provisioning/${clientId}/PROV-V1/REPLY/x`;
  await client.subscribeAsync(topic, { qos: 1 });
  const received = new Promise<void>((resolve) => client.once('message', () => resolve()));
  await client.publishAsync(topic, Buffer.from('{}'), { qos: 1 });
  await received;
  await client.endAsync();
  return { connectMs, totalMs: performance.now() - start };
}

async function measure(variant: Variant, redisUrl: string, round: number) {
  const backends = variant.backends(redisUrl) as Partial<BrokerBackends> | null;
  const aedes = await Aedes.createBroker({
    id: `measure-${round}`,
    ...(backends?.persistence ? { persistence: backends.persistence } : {}),
    ...(backends?.mq ? { mq: backends.mq } : {}),
  });
  const server = createServer({ noDelay: true }, (socket) => aedes.handle(socket));
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  await session(port, -1, `warm${round}`); // connections, scripts and JIT warm
  const connects: number[] = [];
  const totals: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let index = next++; index < count; index = next++) {
        const result = await session(port, index, String(round));
        connects.push(result.connectMs);
        totals.push(result.totalMs);
      }
    }),
  );
  const wallMs = performance.now() - started;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await new Promise<void>((resolve) => aedes.close(() => resolve()));
  if (backends?.persistence) await closeBrokerBackends(backends as BrokerBackends);
  connects.sort((a, b) => a - b);
  totals.sort((a, b) => a - b);
  return {
    variant: variant.name,
    sessions: count,
    concurrency,
    wallMs: Math.round(wallMs),
    sessionsPerSecond: Math.round(count / (wallMs / 1000)),
    connectMs: { p50: +percentile(connects, 50).toFixed(2), p95: +percentile(connects, 95).toFixed(2), max: +(connects.at(-1) ?? NaN).toFixed(2) },
    sessionMs: { p50: +percentile(totals, 50).toFixed(2), p95: +percentile(totals, 95).toFixed(2) },
  };
}

// Closing a broker leaves an ioredis command of its persistence without a handler ("Connection
// is closed"); harmless at the end of a variant, not worth a crash of the measurement.
process.on('unhandledRejection', (reason) => {
  if (!/Connection is closed/.test(String((reason as Error)?.message))) throw reason;
});
const redis = await startRedisServer();
if (!redis) {
  console.error('redis-server is not installed (apt-get install -y redis-server)');
  process.exit(1);
}
try {
  const results = [];
  for (const [round, variant] of variants.entries()) {
    console.error(`measuring: ${variant.name}`);
    results.push(await measure(variant, redis.url, round));
  }
  for (const result of results) console.log(JSON.stringify(result));
} finally {
  await redis.stop();
}
process.exit(0);
