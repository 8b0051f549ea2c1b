/**
 * How big the store grows per device (issue 20 §3, docs/OPERATIONS.md "Audit log retention and
 * store growth"): the all-in-one platform as a process, N devices provisioned by agent-sim's fleet
 * mode, then "a day" of births: each device reconnects to the account broker (mutual TLS) and
 * sends its birth `--births-per-day` times, as a device whose connection drops that often would.
 * Measured on each backend before and after each phase:
 *   SQLite: the size of provisio.db after a clean stop (the WAL checkpointed into it);
 *   Redis:  the sum of MEMORY USAGE over the store's keys, and INFO memory's used_memory.
 * Retention is off during the run (PROVISIO_AUDIT_RETENTION_DAYS=0) so nothing is deleted.
 *
 *   tsx bench/store-growth.ts [--devices 500] [--births-per-day 24] [--concurrency 50] [--backends sqlite,redis]
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { connectToAccountBroker } from '../agent-sim/account-session.ts';
import { DeviceState } from '../agent-sim/device-state.ts';
import { SharedFiles } from '../agent-sim/shared-files.ts';
import { startRedisServer, type RedisServer } from '../dev-support/redis-server.ts';
import { AdminApi } from '../platform/admin-api-client.ts';
import { runFleet } from './support/agent-sim-fleet.ts';
import { parseFlags } from './support/args.ts';
import { startRun, writeResult } from './support/output.ts';
import { startPlatformProcess, type PlatformProcess } from './support/platform-process.ts';
import { printTable } from './support/table.ts';
import { inMemoryBase, makeTempDir } from './support/temp-dirs.ts';

const flags = parseFlags('tsx bench/store-growth.ts: store bytes per device, provisioned and per day of births', {
  devices: { default: 500, help: 'devices provisioned' },
  'births-per-day': { default: 24, help: 'reconnects with a birth per device in the simulated day' },
  concurrency: { default: 50, help: 'devices connecting at once' },
  backends: { default: 'sqlite,redis', help: 'comma-separated: sqlite, redis' },
});

const keyPrefix = 'growth:';

interface Sizes {
  /** SQLite: database file bytes; Redis: sum of MEMORY USAGE of the store's keys. */
  readonly storeBytes: number;
  /** Redis only: INFO memory used_memory. */
  readonly usedMemory: number | null;
  readonly auditEvents: number;
}

interface Phase {
  readonly name: string;
  readonly sizes: Sizes;
}

async function auditTotal(api: string, token: string, type?: string): Promise<number> {
  const response = await fetch(`${api}/audit-events?limit=1${type ? `&type=${type}` : ''}`, { headers: { authorization: `Bearer ${token}` } });
  if (!response.ok) throw new Error(`audit-events: HTTP ${response.status}`);
  return ((await response.json()) as { total: number }).total;
}

async function redisSizes(redis: Redis): Promise<{ storeBytes: number; usedMemory: number }> {
  let storeBytes = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) storeBytes += Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
  } while (cursor !== '0');
  const info = await redis.info('memory');
  const usedMemory = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
  return { storeBytes, usedMemory };
}

/** Every device reconnects once and sends its birth, `concurrency` at a time. */
async function birthRound(states: readonly DeviceState[], concurrency: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < states.length) {
      const state = states[next++]!;
      const client = await connectToAccountBroker(state, await state.settings());
      await client.endAsync();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, states.length) }, worker));
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function measureBackend(backend: 'sqlite' | 'redis', redisServer: RedisServer | null): Promise<Phase[]> {
  const dataDir = makeTempDir(`provisio-growth-${backend}-`);
  const redis = redisServer ? new Redis(redisServer.url) : null;
  const env: Record<string, string> = {
    PROVISIO_AUDIT_RETENTION_DAYS: '0',
    // One birth per second per device is let through (the minimum interval); rounds are slower than that.
    PROVISIO_BIRTH_INTERVAL_SECONDS: '1',
    ...(backend === 'redis' && redisServer
      ? { PROVISIO_STORE_BACKEND: 'redis', PROVISIO_REDIS_URL: redisServer.url, PROVISIO_REDIS_KEY_PREFIX: keyPrefix }
      : {}),
  };
  const phases: Phase[] = [];
  let platform: PlatformProcess | null = null;
  const start = async (): Promise<PlatformProcess> => (platform = await startPlatformProcess({ dataDir, env }));
  /** SQLite is measured stopped (WAL folded in); Redis while running. */
  const measure = async (name: string, running: PlatformProcess): Promise<void> => {
    const auditEvents = await auditTotal(running.apiUrl, running.adminToken);
    if (backend === 'sqlite') {
      await running.stop();
      platform = null;
      phases.push({ name, sizes: { storeBytes: (await stat(path.join(dataDir, 'provisio.db'))).size, usedMemory: null, auditEvents } });
    } else {
      const sizes = await redisSizes(redis!);
      phases.push({ name, sizes: { ...sizes, auditEvents } });
    }
  };
  try {
    let running = await start();
    await measure('empty (admin token, CA started)', running);
    running = platform ?? (await start());

    const api = new AdminApi(running.apiUrl, running.adminToken);
    const accountId = await api.createAccount('growth');
    const clientIds = Array.from({ length: flags.devices }, (_, index) => `growth-${String(index).padStart(6, '0')}`);
    const credentials = await api.createRequests(accountId, clientIds);
    const credentialsFile = path.join(makeTempDir('provisio-growth-creds-'), 'fleet.json');
    await writeFile(credentialsFile, JSON.stringify(credentials));
    const stateRoot = makeTempDir('provisio-growth-devices-', inMemoryBase());
    const fleet = await runFleet({
      credentialsFile,
      rootCaFile: running.rootCaFile,
      brokerUrl: `mqtts://localhost:${running.provisionTlsPort}`,
      count: flags.devices,
      concurrency: flags.concurrency,
      stateRoot,
    });
    if (fleet.summary.provisioned !== flags.devices) throw new Error(`only ${fleet.summary.provisioned} of ${flags.devices} devices provisioned`);
    // The fleet's own first birth of each device.
    await waitFor('the fleet births', async () => (await auditTotal(running.apiUrl, running.adminToken, 'device.birth')) >= flags.devices);
    await measure(`${flags.devices} devices provisioned`, running);
    running = platform ?? (await start());

    // A restarted platform listens on new ports: point every device at this account broker.
    const shared = new SharedFiles(path.join(stateRoot, '@shared'));
    const states = clientIds.map((clientId) => new DeviceState(path.join(stateRoot, encodeURIComponent(clientId)), { shared }));
    await Promise.all(
      states.map(async (state) => {
        const accountFile = path.join(state.directory, 'account.json');
        const next = JSON.parse(await readFile(accountFile, 'utf8')) as { brokerUrl: string };
        next.brokerUrl = `mqtts://localhost:${running.accountTlsPort}`;
        await writeFile(accountFile, JSON.stringify(next));
      }),
    );
    const birthsBefore = await auditTotal(running.apiUrl, running.adminToken, 'device.birth');
    const started = performance.now();
    for (let round = 0; round < flags['births-per-day']; round += 1) {
      const roundStarted = performance.now();
      await birthRound(states, flags.concurrency);
      const left = 1100 - (performance.now() - roundStarted);
      if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
      process.stderr.write(`\r${backend}: birth round ${round + 1}/${flags['births-per-day']}`);
    }
    process.stderr.write('\n');
    const expected = birthsBefore + flags.devices * flags['births-per-day'];
    await waitFor('every birth recorded', async () => (await auditTotal(running.apiUrl, running.adminToken, 'device.birth')) >= expected);
    process.stderr.write(`${backend}: ${flags.devices * flags['births-per-day']} births in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
    await measure(`+ a day: ${flags['births-per-day']} births per device`, running);
    return phases;
  } finally {
    await (platform as PlatformProcess | null)?.stop();
    await redis?.quit();
  }
}

const run = startRun();
const backends = flags.backends.split(',').map((name) => name.trim()) as ('sqlite' | 'redis')[];
const results: Record<string, Phase[]> = {};
const rows: Record<string, string | number | null>[] = [];
for (const backend of backends) {
  let redisServer: RedisServer | null = null;
  if (backend === 'redis') {
    redisServer = await startRedisServer();
    if (!redisServer) {
      process.stderr.write('redis-server is not installed: the Redis backend is skipped (apt-get install -y redis-server)\n');
      continue;
    }
  }
  try {
    const phases = await measureBackend(backend, redisServer);
    results[backend] = phases;
    const [empty, provisioned, day] = phases as [Phase, Phase, Phase];
    const births = flags.devices * flags['births-per-day'];
    rows.push(
      {
        backend,
        measure: backend === 'sqlite' ? 'provisio.db bytes' : 'MEMORY USAGE of store keys',
        empty: empty.sizes.storeBytes,
        provisioned: provisioned.sizes.storeBytes,
        'after a day': day.sizes.storeBytes,
        'per device provisioned': Math.round((provisioned.sizes.storeBytes - empty.sizes.storeBytes) / flags.devices),
        'per device per day': Math.round((day.sizes.storeBytes - provisioned.sizes.storeBytes) / flags.devices),
        'per birth event': Math.round((day.sizes.storeBytes - provisioned.sizes.storeBytes) / births),
        'audit events per device provisioned': Math.round(((provisioned.sizes.auditEvents - empty.sizes.auditEvents) / flags.devices) * 10) / 10,
      },
      ...(backend === 'redis'
        ? [
            {
              backend,
              measure: 'INFO used_memory',
              empty: empty.sizes.usedMemory,
              provisioned: provisioned.sizes.usedMemory,
              'after a day': day.sizes.usedMemory,
              'per device provisioned': Math.round(((provisioned.sizes.usedMemory ?? 0) - (empty.sizes.usedMemory ?? 0)) / flags.devices),
              'per device per day': Math.round(((day.sizes.usedMemory ?? 0) - (provisioned.sizes.usedMemory ?? 0)) / flags.devices),
              'per birth event': Math.round(((day.sizes.usedMemory ?? 0) - (provisioned.sizes.usedMemory ?? 0)) / births),
              'audit events per device provisioned': null,
            },
          ]
        : []),
    );
  } finally {
    await redisServer?.stop();
  }
}
printTable(`Store growth: ${flags.devices} devices, ${flags['births-per-day']} reconnects with a birth per device per day (bytes)`, rows);
await writeResult(flags.json, run, {
  benchmark: 'store-growth',
  parameters: { devices: flags.devices, birthsPerDay: flags['births-per-day'], concurrency: flags.concurrency },
  results: { phases: results, rows },
  targets: [],
  notes: [
    'SQLite: file size after a clean stop (WAL checkpointed); freed pages are reused, the file does not shrink by itself.',
    'Redis: MEMORY USAGE SAMPLES 0 summed over the store key prefix; used_memory includes allocator overhead.',
  ],
});
process.exit(0);
