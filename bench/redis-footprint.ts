/**
 * Redis memory and Redis commands per device on the cluster (issue 19 §4, docs/CAPACITY.md):
 * a real redis-server, the API, `--brokers` broker and `--provisioners` provisioner processes
 * (dev-support/cluster.ts, as docker-compose runs them), and N devices taken through their life:
 *
 *   1. idle cluster, no devices (`--idle-seconds`): what the processes ask of Redis on their own;
 *   2. N provision requests created through the batch API;
 *   3. N devices provisioned by agent-sim's fleet mode: TLS to the provision broker, CSR, signed
 *      reply, completion, mutual TLS to the account broker, subscriptions, birth;
 *   4. every device reconnects (mutual TLS, subscriptions, birth) and stays connected;
 *   5. the N devices held idle for `--idle-seconds`;
 *   6. every held device renews its certificate once (CERT-V1), the reply checked as an agent does;
 *   7. every device disconnects.
 *
 * Between steps 1 and 2, and after step 4, PUBLISHes to a channel no device subscribes to measure
 * what every message of the shared topic space pays for the pattern subscriptions the held
 * devices keep in Redis (mqemitter-redis); after the cluster stops, the same against 1,000 to
 * 16,000 synthetic patterns of the same shape (`--pattern-sweep`).
 *
 * Around each step Redis is asked (INFO commandstats, cpu, stats, memory; MEMORY USAGE of every
 * key summed by what the key is) and the step's commands, server time, network bytes and memory
 * are divided by the devices. The benchmark's own INFO, SCAN and MEMORY calls are left out.
 * Memory and command counts do not depend on the machine's load; CPU figures (Redis' and the
 * processes') do, and are printed for proportions only. Loopback only; everything is stopped at the end.
 *
 *   npm run bench:redis-footprint -- [--devices 2000] [--concurrency 50] [--brokers 2] [--provisioners 1] [--idle-seconds 10] [--json out.json]
 */
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import { connectToAccountBroker } from '../agent-sim/account-session.ts';
import { DeviceState } from '../agent-sim/device-state.ts';
import { SharedFiles } from '../agent-sim/shared-files.ts';
import { startCluster, type Cluster, type ServiceKind } from '../dev-support/cluster.ts';
import { startRedisServer } from '../dev-support/redis-server.ts';
import { AdminApi } from '../platform/admin-api-client.ts';
import { runFleet } from './support/agent-sim-fleet.ts';
import { parseFlags } from './support/args.ts';
import { startRun, writeResult } from './support/output.ts';
import { CpuMeter } from './support/proc-stats.ts';
import {
  commandDelta,
  commandStats,
  infoNumbers,
  keyGroupSizes,
  patternSweep,
  publishProbe,
  pubSubCounts,
  type CommandCount,
  type KeyGroupSize,
} from './support/redis-stats.ts';
import { checkRenewal, forEachLimited, loadDevices, renew } from './support/renewing-devices.ts';
import { median, round } from './support/stats.ts';
import { printTable } from './support/table.ts';
import { inMemoryBase, makeTempDir } from './support/temp-dirs.ts';

const flags = parseFlags('tsx bench/redis-footprint.ts: Redis memory and commands per device, cluster on Redis', {
  devices: { default: 2000, help: 'devices taken through every step' },
  concurrency: { default: 50, help: 'devices connecting at once (renewals: at most 50, below the 64 a process takes before 429)' },
  brokers: { default: 2, help: 'broker processes (devices use the first; the others receive the shared topic space)' },
  provisioners: { default: 1, help: 'provisioner processes' },
  'idle-seconds': { default: 10, help: 'length of the idle windows (no devices, then N devices held)' },
  'probe-publishes': { default: 2000, help: 'PUBLISHes per round of the probe (no devices, then N devices held)' },
  'pattern-sweep': { default: '1000,4000,16000', help: 'after the cluster: PUBLISH cost against this many synthetic pattern subscriptions ("" skips)' },
});

const keyPrefix = 'provisio:';
const accountName = 'footprint';
/** Commands of this benchmark itself, never the platform's: not counted. */
const ownCommands = new Set(['info', 'scan', 'memory|usage']);

interface Step {
  readonly name: string;
  /** Devices (or requests) the step's figures are divided by. */
  readonly count: number;
  readonly seconds: number;
  readonly commands: Record<string, CommandCount>;
  /** used_cpu_user + used_cpu_sys of redis-server during the step. */
  readonly redisCpuSeconds: number;
  readonly netInputBytes: number;
  readonly netOutputBytes: number;
  /** CPU seconds of the platform's processes by kind, all threads, from /proc (load-dependent). */
  readonly processCpuSeconds: Partial<Record<ServiceKind, number>>;
  /** After the step. */
  readonly usedMemory: number;
  readonly keys: number;
  readonly groups: Record<string, KeyGroupSize>;
  /** Pattern subscriptions and subscribed channels on the server after the step (mqemitter-redis: the brokers' devices' subscriptions). */
  readonly patterns: number;
  readonly channels: number;
}

interface Probe {
  readonly when: string;
  readonly patterns: number;
  readonly channels: number;
  /** Median of the probe's rounds. */
  readonly usecPerPublish: number;
  readonly rounds: readonly number[];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const sum = (values: Iterable<number>): number => [...values].reduce((a, b) => a + b, 0);

/** Redis goes quiet: fewer than `perHalfSecond` commands (INFO included) in each of two half-seconds in a row. */
async function settle(redis: Redis, perHalfSecond: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = (await infoNumbers(redis, 'stats')).get('total_commands_processed') ?? 0;
  let quiet = 0;
  while (quiet < 2) {
    if (Date.now() > deadline) throw new Error('Redis did not go quiet within the timeout');
    await sleep(500);
    const now = (await infoNumbers(redis, 'stats')).get('total_commands_processed') ?? 0;
    quiet = now - last <= perHalfSecond ? quiet + 1 : 0;
    last = now;
  }
}

async function measureStep(redis: Redis, cluster: Cluster, name: string, count: number, quietLimit: number, work: () => Promise<void>): Promise<Step> {
  const before = { commands: await commandStats(redis), info: await infoNumbers(redis, 'cpu', 'stats') };
  const meters = cluster.processes.map((process) => ({ kind: process.kind, meter: new CpuMeter(process.child.pid!) }));
  const started = performance.now();
  await work();
  if (quietLimit > 0) await settle(redis, quietLimit);
  const seconds = (performance.now() - started) / 1000;
  const processCpuSeconds: Partial<Record<ServiceKind, number>> = {};
  for (const { kind, meter } of meters) processCpuSeconds[kind] = (processCpuSeconds[kind] ?? 0) + meter.read().cpuSeconds;
  const after = { commands: await commandStats(redis), info: await infoNumbers(redis, 'cpu', 'stats', 'memory') };
  const info = (key: string): number => (after.info.get(key) ?? 0) - (before.info.get(key) ?? 0);
  const groups = await keyGroupSizes(redis, keyPrefix);
  const { patterns, channels } = await pubSubCounts(redis);
  return {
    name,
    count,
    seconds,
    commands: Object.fromEntries(commandDelta(before.commands, after.commands, ownCommands)),
    redisCpuSeconds: info('used_cpu_user') + info('used_cpu_sys'),
    netInputBytes: info('total_net_input_bytes'),
    netOutputBytes: info('total_net_output_bytes'),
    processCpuSeconds,
    usedMemory: after.info.get('used_memory') ?? 0,
    keys: sum([...groups.values()].map((group) => group.keys)),
    groups: Object.fromEntries(groups),
    patterns,
    channels,
  };
}

/** A channel of the account broker's topic space that no device subscribes to (PUBLISH cost against the held patterns). */
const probeChannel = `${keyPrefix}mqtt:account:topic/$EDC/${accountName}/footprint-probe/MQTT/BIRTH`;

/** 5 rounds of `--probe-publishes` PUBLISHes to the probe channel; the median of their server µs per PUBLISH. */
async function probe(redis: Redis, when: string): Promise<Probe> {
  const counts = await pubSubCounts(redis);
  const rounds: number[] = [];
  for (let i = 0; i < 5; i += 1) rounds.push((await publishProbe(redis, probeChannel, flags['probe-publishes'])).usecPerPublish);
  return { when, ...counts, usecPerPublish: median(rounds), rounds: rounds.map((value) => round(value)) };
}

const run = startRun();
const redisServer = await startRedisServer();
if (!redisServer) throw new Error('redis-server is not installed (apt-get install -y redis-server)');
const redis = new Redis(redisServer.url);
const cluster = await startCluster({
  redisUrl: redisServer.url,
  brokers: flags.brokers,
  provisioners: flags.provisioners,
  env: {
    // No retention deletes during the run; a birth per second per device let through (default 10 s).
    PROVISIO_AUDIT_RETENTION_DAYS: '0',
    PROVISIO_BIRTH_INTERVAL_SECONDS: '1',
    // Every device connects from 127.0.0.1 and all of them stay connected: lift the per-address bound knowingly.
    PROVISIO_MQTT_CONNECTIONS_PER_ADDRESS: '1000000',
  },
});
const clients: MqttClient[] = [];
const steps: Step[] = [];
const probes: Probe[] = [];
let sweep: Awaited<ReturnType<typeof patternSweep>> = [];
const loadAverages: number[][] = [os.loadavg()];
try {
  await sleep(6000); // start-up work (retention's first run, CA loading) out of the idle window
  const idle = await measureStep(redis, cluster, 'idle cluster, no devices', 1, 0, () => sleep(flags['idle-seconds'] * 1000));
  steps.push(idle);
  probes.push(await probe(redis, 'no devices'));
  const idleCallsPerHalfSecond = sum(Object.values(idle.commands).map((c) => c.calls)) / flags['idle-seconds'] / 2;
  const quietLimit = Math.ceil(2 * idleCallsPerHalfSecond) + 5;
  const step = async (name: string, work: () => Promise<void>): Promise<void> => {
    steps.push(await measureStep(redis, cluster, name, flags.devices, quietLimit, work));
    loadAverages.push(os.loadavg());
    process.stdout.write(`${name}: done in ${steps.at(-1)!.seconds.toFixed(1)} s\n`);
  };

  const api = new AdminApi(cluster.apiUrl, cluster.adminToken);
  const accountId = await api.createAccount(accountName);
  const clientIds = Array.from({ length: flags.devices }, (_, index) => `footprint-${String(index).padStart(7, '0')}`);
  const credentialsFile = path.join(makeTempDir('provisio-footprint-creds-'), 'fleet.json');
  await step('provision requests created (batch API)', async () => {
    await writeFile(credentialsFile, JSON.stringify(await api.createRequests(accountId, clientIds)));
  });

  const stateRoot = makeTempDir('provisio-footprint-devices-', inMemoryBase());
  await step('provisioned (TLS both legs, birth)', async () => {
    const fleet = await runFleet({
      credentialsFile,
      rootCaFile: cluster.rootCaFile,
      brokerUrl: cluster.provisionUrls[0]!,
      count: flags.devices,
      concurrency: flags.concurrency,
      stateRoot,
    });
    if (fleet.summary.provisioned !== flags.devices) throw new Error(`only ${fleet.summary.provisioned} of ${flags.devices} devices provisioned`);
  });

  const shared = new SharedFiles(path.join(stateRoot, '@shared'));
  const states = clientIds.map((clientId) => new DeviceState(path.join(stateRoot, encodeURIComponent(clientId)), { shared }));
  await sleep(1100); // the birth interval (1 s) since each device's first birth
  await step('reconnected and held (mutual TLS, subscriptions, birth)', () =>
    forEachLimited(states, flags.concurrency, async (state) => {
      clients.push(await connectToAccountBroker(state, await state.settings()));
    }),
  );
  if (clients.length !== flags.devices) throw new Error(`${clients.length} of ${flags.devices} devices reconnected`);
  probes.push(await probe(redis, `${flags.devices} devices held`));

  await step(`${flags.devices} devices held idle for ${flags['idle-seconds']} s`, () => sleep(flags['idle-seconds'] * 1000));

  // Each device's new key and CSR are made before the step, as in bench/renewal.ts.
  const renewing = await loadDevices(stateRoot, clientIds, accountName);
  const byClientId = new Map(clients.map((client) => [client.options.clientId, client]));
  for (const device of renewing) device.client = byClientId.get(device.clientId);
  const rootCa = await readFile(cluster.rootCaFile, 'utf8');
  await step('renewed once (CERT-V1)', () => forEachLimited(renewing, Math.min(50, flags.concurrency), (device) => renew(device, 60_000)));
  for (const device of renewing) checkRenewal(device, rootCa);

  await step('disconnected', async () => {
    await Promise.all(clients.map((client) => client.endAsync()));
  });
  loadAverages.push(os.loadavg());
} finally {
  await Promise.all(clients.map((client) => client.endAsync(true).catch(() => undefined)));
  await cluster.close();
  const sweepCounts = flags['pattern-sweep'].split(',').filter(Boolean).map(Number);
  if (sweepCounts.length > 0) sweep = await patternSweep(redisServer.url, `${keyPrefix}mqtt:account:topic/$EDC/${accountName}/`, sweepCounts);
  await redis.quit();
  await redisServer.stop();
}

const [idle, ...lifecycle] = steps as [Step, ...Step[]];
const calls = (s: Step): number => sum(Object.values(s.commands).map((c) => c.calls));
const usec = (s: Step, only?: readonly string[]): number =>
  sum(Object.entries(s.commands).flatMap(([name, c]) => (only === undefined || only.includes(name) ? [c.usec] : [])));
/** The commands of the store's listings (pageFromIndex): a range of an index, then MGET of the records. */
const rangeScanCommands = ['zrangebyscore', 'zrevrangebyscore', 'mget'];
const keyBytes = (s: Step): number => sum(Object.values(s.groups).map((g) => g.bytes));
const idleCallsPerSecond = calls(idle) / idle.seconds;
const perDevice = lifecycle.map((s, index) => {
  const previous = steps[index]!;
  const isIdle = s.name.includes('held idle');
  return {
    step: s.name,
    seconds: round(s.seconds),
    // Held idle: commands per device per second beyond the idle cluster's own.
    'commands per device': isIdle ? null : round(calls(s) / s.count),
    'commands per device per s': isIdle ? round((calls(s) / s.seconds - idleCallsPerSecond) / s.count) : null,
    'Redis µs per device (commandstats)': isIdle ? null : round(usec(s) / s.count),
    'of it range+MGET': isIdle ? null : round(usec(s, rangeScanCommands) / s.count),
    'of it PUBLISH': isIdle ? null : round(usec(s, ['publish']) / s.count),
    'Redis CPU µs per device (INFO cpu)': isIdle ? null : round((s.redisCpuSeconds * 1e6) / s.count),
    'net in B per device': isIdle ? null : Math.round(s.netInputBytes / s.count),
    'net out B per device': isIdle ? null : Math.round(s.netOutputBytes / s.count),
    'used_memory Δ per device': Math.round((s.usedMemory - previous.usedMemory) / s.count),
    'key bytes Δ per device': Math.round((keyBytes(s) - keyBytes(previous)) / s.count),
    'keys Δ per device': round((s.keys - previous.keys) / s.count),
  };
});
const commandNames = [...new Set(lifecycle.flatMap((s) => Object.keys(s.commands)))].sort();
const byCommand = commandNames.map((name) => ({
  command: name,
  ...Object.fromEntries(lifecycle.map((s) => [s.name.split(' (')[0]!, s.commands[name] ? round(s.commands[name].calls / s.count) : null])),
}));
const groupNames = [...new Set(steps.flatMap((s) => Object.keys(s.groups)))].sort();
const byGroup = groupNames.map((group) => ({
  group,
  ...Object.fromEntries(
    lifecycle.map((s) => [s.name.split(' (')[0]!, Math.round(((s.groups[group]?.bytes ?? 0) - (idle.groups[group]?.bytes ?? 0)) / s.count)]),
  ),
}));
const cpuRows = lifecycle.map((s) => ({
  step: s.name,
  ...Object.fromEntries(Object.entries(s.processCpuSeconds).map(([kind, seconds]) => [`${kind} CPU ms per device`, round((seconds * 1000) / s.count)])),
  'redis-server CPU ms per device': round((s.redisCpuSeconds * 1000) / s.count),
}));

printTable(`Redis per device: ${flags.devices} devices, ${flags.brokers} broker(s), ${flags.provisioners} provisioner(s)`, perDevice);
printTable('Commands per device by command (calls ÷ devices)', byCommand);
printTable('Key bytes per device by key group (MEMORY USAGE after each step, minus the idle cluster, ÷ devices)', byGroup);
printTable('CPU per device by process kind (load-dependent: proportions only)', cpuRows);
printTable(
  `PUBLISH to a channel no one subscribes to (${flags['probe-publishes']} per round, 5 rounds, median; load-dependent)`,
  probes.map((p) => ({
    when: p.when,
    'pattern subscriptions': p.patterns,
    'subscribed channels': p.channels,
    'server µs per PUBLISH': round(p.usecPerPublish),
    rounds: p.rounds.join(' '),
  })),
);
const [noDevices, held] = probes as [Probe, Probe];
const nsPerPattern = ((held.usecPerPublish - noDevices.usecPerPublish) * 1000) / Math.max(1, held.patterns - noDevices.patterns);
process.stdout.write(`\nPUBLISH cost per pattern subscription held: ${round(nsPerPattern)} ns\n`);
if (sweep.length > 0) {
  printTable(
    'PUBLISH against synthetic pattern subscriptions (5 rounds; load-dependent)',
    sweep.map((row) => ({
      patterns: row.patterns,
      'server µs per PUBLISH (median)': round(median(row.usecPerPublish)),
      'ns per pattern': round((median(row.usecPerPublish) * 1000) / row.patterns),
      rounds: row.usecPerPublish.map((value) => round(value)).join(' '),
    })),
  );
}
process.stdout.write(
  `\nidle cluster: ${round(idleCallsPerSecond)} commands/s; load average along the run: ${loadAverages.map((l) => l[0]!.toFixed(1)).join(' → ')}\n`,
);
await writeResult(flags.json, run, {
  benchmark: 'redis-footprint',
  parameters: {
    devices: flags.devices,
    concurrency: flags.concurrency,
    brokers: flags.brokers,
    provisioners: flags.provisioners,
    idleSeconds: flags['idle-seconds'],
    probePublishes: flags['probe-publishes'],
  },
  results: { steps, perDevice, byCommand, byGroup, cpuRows, idleCallsPerSecond, probes, nsPerPattern, sweep, loadAverages },
  targets: [],
  notes: [
    'Memory: INFO used_memory (allocator overhead and pub/sub included) and MEMORY USAGE SAMPLES 0 summed over every key; both after each step.',
    'Commands: INFO commandstats deltas; the benchmark’s own INFO, SCAN and MEMORY USAGE are left out.',
    'CPU figures depend on the machine’s load (load average printed): read them as proportions.',
  ],
});
process.exit(0);
