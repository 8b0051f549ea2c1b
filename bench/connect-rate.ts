/**
 * Authenticated connect rate: the provision broker (all-in-one platform) against mosquitto with a
 * password file holding the same credentials, driven by the same raw-socket load client. A third
 * server, the Node floor (support/floor-broker.ts: CONNECT in, CONNACK out, nothing else), shows
 * what Node's sockets and TLS cost before any broker work.
 * CONNECT → CONNACK 0 → DISCONNECT, `--concurrency` at a time, over TCP and over TLS (the same EC
 * server certificate and chain on both brokers). Per round and broker: connects per second, broker
 * CPU per connect (from /proc), and load-client CPU per connect. Rounds alternate which broker goes
 * first; figures are medians; the ratios compare medians taken in the same run.
 *
 *   tsx bench/connect-rate.ts [--devices 10000] [--connects 5000] [--rounds 5] [--json out.json]
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { AdminApi } from '../platform/admin-api-client.ts';
import { parseFlags } from './support/args.ts';
import { makeTempDir } from './support/temp-dirs.ts';
import type { BrokerTarget, DeviceIdentity } from './support/connect-load.ts';
import { LoadClientPool } from './support/load-pool.ts';
import { startFloorBroker, type FloorBrokerProcess } from './support/floor-broker-process.ts';
import { startMosquitto, type MosquittoProcess } from './support/mosquitto.ts';
import { checkTarget, startRun, writeResult } from './support/output.ts';
import { startPlatformProcess, type PlatformProcess } from './support/platform-process.ts';
import { CpuMeter, ownCpuSeconds } from './support/proc-stats.ts';
import { median, ratio, round } from './support/stats.ts';
import { printTable, type Cell } from './support/table.ts';

const flags = parseFlags('tsx bench/connect-rate.ts: authenticated connects/s, provision broker vs mosquitto', {
  devices: { default: 10_000, help: 'credentials created (provision requests = mosquitto password file lines)' },
  connects: { default: 5_000, help: 'connects per broker per round' },
  warmup: { default: 1_000, help: 'connects per broker before the measured rounds' },
  rounds: { default: 5, help: 'measured rounds per transport' },
  concurrency: { default: 50, help: 'connections in flight at once (over all client threads)' },
  // Over TCP one client thread drives mosquitto hardest; over TLS the client's own handshakes
  // cost more than the broker's and a second thread helps (measured on 2 cores).
  'tcp-client-threads': { default: 1, help: 'load-client worker threads over TCP' },
  'tls-client-threads': { default: 2, help: 'load-client worker threads over TLS' },
  transports: { default: 'tcp,tls', help: 'comma-separated: tcp, tls' },
  profile: { default: '', help: 'directory: run the platform under node --cpu-prof and write the profile there' },
});

type BrokerName = 'provisio' | 'mosquitto' | 'node floor';
const brokerNames: readonly BrokerName[] = ['provisio', 'mosquitto', 'node floor'];
interface RoundFigure {
  readonly perSecond: number;
  readonly brokerCpuMsPerConnect: number;
  /** The broker's main thread (the event loop for node; all of mosquitto, which is single-threaded). */
  readonly mainThreadCpuMsPerConnect: number;
  readonly clientCpuMsPerConnect: number;
  readonly failures: number;
}

async function measureRound(pool: LoadClientPool, pid: number, target: BrokerTarget, count: number, offset: number): Promise<RoundFigure> {
  const meter = new CpuMeter(pid);
  const clientCpuBefore = ownCpuSeconds();
  const load = await pool.run({ target, count, concurrency: flags.concurrency, offset });
  const { cpuSeconds, mainThreadCpuSeconds } = meter.read();
  if (load.failures > 0) process.stderr.write(`  ${load.failures} failed connects: ${JSON.stringify(load.failuresByReason)}\n`);
  return {
    perSecond: load.perSecond,
    brokerCpuMsPerConnect: (cpuSeconds * 1000) / Math.max(1, load.connects),
    mainThreadCpuMsPerConnect: (mainThreadCpuSeconds * 1000) / Math.max(1, load.connects),
    clientCpuMsPerConnect: ((ownCpuSeconds() - clientCpuBefore) * 1000) / Math.max(1, load.connects),
    failures: load.failures,
  };
}

async function main(): Promise<void> {
  const context = startRun();
  const transports = flags.transports.split(',').map((t) => t.trim()) as ('tcp' | 'tls')[];
  const workDir = makeTempDir('provisio-bench-connect-');
  let platform: PlatformProcess | null = null;
  let mosquitto: MosquittoProcess | null = null;
  let floor: FloorBrokerProcess | null = null;
  let pool: LoadClientPool | null = null;
  try {
    platform = await startPlatformProcess(flags.profile ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', path.resolve(flags.profile)] } : {});
    const api = new AdminApi(platform.apiUrl, platform.adminToken);
    const accountId = await api.createAccount('bench-connect');
    process.stdout.write(`creating ${flags.devices} provision requests…\n`);
    const clientIds = Array.from({ length: flags.devices }, (_, i) => `bench-c-${String(i).padStart(6, '0')}`);
    const credentials = await api.createRequests(accountId, clientIds);
    mosquitto = await startMosquitto({ directory: workDir, credentials, caDir: platform.caDir });
    floor = await startFloorBroker(platform.caDir);
    const rootCa = await readFile(platform.rootCaFile, 'utf8');
    const identities: DeviceIdentity[] = credentials.map((c) => ({ clientId: c.clientId, username: c.username, password: c.password }));
    const brokers: Record<BrokerName, { pid: number; tcp: number; tls: number }> = {
      provisio: { pid: platform.pid, tcp: platform.provisionTcpPort, tls: platform.provisionTlsPort },
      mosquitto: { pid: mosquitto.pid, tcp: mosquitto.tcpPort, tls: mosquitto.tlsPort },
      'node floor': { pid: floor.pid, tcp: floor.tcpPort, tls: floor.tlsPort },
    };
    const targetOf = (name: BrokerName, transport: 'tcp' | 'tls'): BrokerTarget =>
      transport === 'tls' ? { port: brokers[name].tls, tls: { ca: rootCa } } : { port: brokers[name].tcp };

    const results: Record<string, unknown>[] = [];
    const rows: Record<string, Cell>[] = [];
    const ratios: Record<string, number | null> = {};
    let offset = 0;
    for (const transport of transports) {
      await pool?.close();
      pool = await LoadClientPool.start(transport === 'tcp' ? flags['tcp-client-threads'] : flags['tls-client-threads'], identities);
      process.stdout.write(`${transport}: warm-up…\n`);
      for (const name of brokerNames) {
        await pool.run({ target: targetOf(name, transport), count: flags.warmup, concurrency: flags.concurrency, offset });
      }
      offset += flags.warmup;
      const rounds: Record<BrokerName, RoundFigure[]> = { provisio: [], mosquitto: [], 'node floor': [] };
      for (let r = 0; r < flags.rounds; r++) {
        // Each round starts with another broker, so none is always measured first.
        const order = brokerNames.map((_, i) => brokerNames[(i + r) % brokerNames.length] as BrokerName);
        for (const name of order) {
          const figure = await measureRound(pool, brokers[name].pid, targetOf(name, transport), flags.connects, offset);
          rounds[name].push(figure);
          process.stdout.write(
            `  ${transport} round ${r + 1} ${name.padEnd(10)} ${Math.round(figure.perSecond)} connects/s, ${figure.brokerCpuMsPerConnect.toFixed(3)} ms broker CPU/connect\n`,
          );
        }
        offset += flags.connects;
      }
      const summary = (name: BrokerName) => ({
        connectsPerSecond: round(median(rounds[name].map((f) => f.perSecond))),
        brokerCpuMsPerConnect: round(median(rounds[name].map((f) => f.brokerCpuMsPerConnect))),
        mainThreadCpuMsPerConnect: round(median(rounds[name].map((f) => f.mainThreadCpuMsPerConnect))),
        clientCpuMsPerConnect: round(median(rounds[name].map((f) => f.clientCpuMsPerConnect))),
        failures: rounds[name].reduce((sum, f) => sum + f.failures, 0),
      });
      const ours = summary('provisio');
      const theirs = summary('mosquitto');
      const nodeFloor = summary('node floor');
      const rateRatio = ratio(ours.connectsPerSecond, theirs.connectsPerSecond);
      const cpuRatio = ratio(ours.brokerCpuMsPerConnect, theirs.brokerCpuMsPerConnect);
      ratios[transport] = rateRatio;
      results.push({
        transport,
        provisio: ours,
        mosquitto: theirs,
        nodeFloor,
        rateRatio: rateRatio && round(rateRatio),
        cpuRatio: cpuRatio && round(cpuRatio),
        rounds,
      });
      for (const [name, s] of [
        ['provisio', ours],
        ['mosquitto', theirs],
        ['node floor', nodeFloor],
      ] as const) {
        rows.push({
          transport,
          broker: name,
          'connects/s': s.connectsPerSecond,
          'broker CPU ms/connect': s.brokerCpuMsPerConnect,
          'of it main thread': s.mainThreadCpuMsPerConnect,
          'client CPU ms/connect': s.clientCpuMsPerConnect,
          failures: s.failures,
          'rate ratio': name === 'provisio' ? rateRatio && round(rateRatio) : null,
          'CPU ratio': name === 'provisio' ? cpuRatio && round(cpuRatio) : null,
        });
      }
    }
    printTable(
      `Authenticated connects (median of ${flags.rounds} rounds of ${flags.connects}, concurrency ${flags.concurrency}, client threads TCP ${flags['tcp-client-threads']} / TLS ${flags['tls-client-threads']}, ${flags.devices} credentials)`,
      rows,
    );
    await writeResult(flags.json, context, {
      benchmark: 'connect-rate',
      parameters: { ...flags, json: undefined },
      results,
      targets: transports.map((t) =>
        checkTarget(
          `connects/s vs mosquitto over ${t.toUpperCase()}`,
          ratios[t] === null || ratios[t] === undefined ? null : round(ratios[t]!),
          0.5,
          '× mosquitto',
          'atLeast',
        ),
      ),
      notes: [
        'The load client runs on the same 2-core machine and competes with the broker for CPU; its own CPU per connect is reported.',
        'Platform log level warn; mosquitto logs errors and warnings only, connection messages off.',
        'node floor: a Node server that answers CONNECT with CONNACK 0 and nothing else (no MQTT parsing, no authentication), on the same certificate.',
      ],
    });
  } finally {
    await pool?.close();
    await floor?.stop();
    await mosquitto?.stop();
    await platform?.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

await main();
