/**
 * Idle memory: RSS per authenticated idle connection, ours against mosquitto, in one run.
 * Each scenario starts its broker afresh (the platform on the same data directory, so devices
 * provisioned once stay valid), reads RSS after a settle and a full GC, opens `--connections`
 * sessions (keep-alive 0), settles, collects garbage again and reads RSS:
 * (RSS with N idle − RSS before) / N.
 *
 * - account broker, mutual TLS, with client certificates from an agent-sim fleet run; against
 *   mosquitto with require_certificate and the same certificates;
 * - provision broker over TCP and TLS with passwords; against mosquitto with a password file.
 *
 *   tsx bench/idle-memory.ts [--connections 5000] [--rounds 3] [--json out.json]
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AdminApi } from '../platform/admin-api-client.ts';
import { runFleet } from './support/agent-sim-fleet.ts';
import { parseFlags } from './support/args.ts';
import { makeTempDir } from './support/temp-dirs.ts';
import { closeSessions, openIdleSessions, type BrokerTarget, type DeviceIdentity } from './support/connect-load.ts';
import { startMosquitto } from './support/mosquitto.ts';
import { checkTarget, startRun, writeResult } from './support/output.ts';
import { startPlatformProcess } from './support/platform-process.ts';
import { rssKb } from './support/proc-stats.ts';
import { median, ratio, round } from './support/stats.ts';
import { printTable, type Cell } from './support/table.ts';

const flags = parseFlags('tsx bench/idle-memory.ts: RSS per idle authenticated connection, ours vs mosquitto', {
  connections: { default: 5_000, help: 'idle connections per scenario (and devices provisioned for the account broker)' },
  rounds: { default: 3, help: 'rounds per scenario, each on a freshly started broker' },
  'settle-ms': { default: 2_000, help: 'wait after connecting before reading RSS' },
  concurrency: { default: 50, help: 'handshakes in flight while connecting' },
  scenarios: { default: 'account-mtls,provision-tcp,provision-tls', help: 'comma-separated: account-mtls, provision-tcp, provision-tls' },
});

/** Issue 6: at most 10 KB per idle device over TCP; over TLS at most twice mosquitto's figure. */
const tcpLimitBytes = 10 * 1000;
const tlsLimitRatio = 2;

type Transport = 'tcp' | 'tls' | 'mtls';
interface RunningBroker {
  readonly pid: number;
  readonly target: BrokerTarget;
  gc(): Promise<void>;
  stop(): Promise<void>;
}
interface Measurement {
  readonly connected: number;
  readonly failures: number;
  readonly firstFailure: string | null;
  readonly beforeKb: number;
  readonly afterKb: number;
  readonly bytesPerConnection: number;
}

async function measure(start: () => Promise<RunningBroker>, identities: readonly DeviceIdentity[]): Promise<Measurement> {
  const broker = await start();
  try {
    await sleep(1_000);
    await broker.gc();
    await sleep(500);
    const beforeKb = rssKb(broker.pid);
    const { sockets, failures, firstFailure } = await openIdleSessions(broker.target, identities, flags.concurrency);
    try {
      await sleep(flags['settle-ms']);
      await broker.gc();
      await sleep(500);
      const afterKb = rssKb(broker.pid);
      return {
        connected: sockets.length,
        failures,
        firstFailure,
        beforeKb,
        afterKb,
        bytesPerConnection: ((afterKb - beforeKb) * 1024) / Math.max(1, sockets.length),
      };
    } finally {
      await closeSessions(sockets);
    }
  } finally {
    await broker.stop();
  }
}

async function main(): Promise<void> {
  const context = startRun();
  const scenarios = flags.scenarios.split(',').map((s) => s.trim());
  const workDir = makeTempDir('provisio-bench-idle-');
  const dataDir = path.join(workDir, 'platform');
  try {
    // Set-up: provision requests for the password scenarios and devices for the account broker.
    const setup = await startPlatformProcess({ dataDir });
    let passwordIdentities: DeviceIdentity[] = [];
    const certificateIdentities: DeviceIdentity[] = [];
    let provisioningFailures = 0;
    let rootCa = '';
    try {
      rootCa = await readFile(setup.rootCaFile, 'utf8');
      const api = new AdminApi(setup.apiUrl, setup.adminToken);
      const accountId = await api.createAccount('bench-idle');
      const n = flags.connections;
      process.stdout.write(`creating ${n} provision requests for the password scenarios…\n`);
      const passwords = await api.createRequests(
        accountId,
        Array.from({ length: n }, (_, i) => `bench-idle-pw-${String(i).padStart(6, '0')}`),
      );
      passwordIdentities = passwords.map((c) => ({ clientId: c.clientId, username: c.username, password: c.password }));
      if (scenarios.includes('account-mtls')) {
        process.stdout.write(`provisioning ${n} devices with agent-sim for the account broker…\n`);
        const devices = await api.createRequests(
          accountId,
          Array.from({ length: n }, (_, i) => `bench-idle-dev-${String(i).padStart(6, '0')}`),
        );
        const credentialsFile = path.join(workDir, 'devices.json');
        await writeFile(credentialsFile, JSON.stringify(devices));
        const stateRoot = path.join(workDir, 'devices');
        const fleet = await runFleet({
          credentialsFile,
          rootCaFile: setup.rootCaFile,
          brokerUrl: `mqtts://localhost:${setup.provisionTlsPort}`,
          count: n,
          concurrency: 50,
          stateRoot,
        });
        provisioningFailures = fleet.summary.failed;
        process.stdout.write(
          `  ${fleet.summary.provisioned} provisioned in ${(fleet.summary.durationMs / 1000).toFixed(1)} s (${fleet.summary.failed} failed: ${JSON.stringify(fleet.summary.failuresByReason)})\n`,
        );
        for (const device of devices) {
          const directory = path.join(stateRoot, encodeURIComponent(device.clientId));
          if (!existsSync(path.join(directory, 'client.pem'))) continue;
          const [certPem, keyPem] = await Promise.all([
            readFile(path.join(directory, 'client.pem'), 'utf8'),
            readFile(path.join(directory, 'client.key'), 'utf8'),
          ]);
          certificateIdentities.push({ clientId: device.clientId, certPem, keyPem });
        }
        await rm(stateRoot, { recursive: true, force: true });
      }
    } finally {
      await setup.stop();
    }

    const caDir = path.join(dataDir, 'ca');
    const startProvisio = (transport: Transport) => async (): Promise<RunningBroker> => {
      const platform = await startPlatformProcess({ dataDir, gcHook: true });
      const port = transport === 'tcp' ? platform.provisionTcpPort : transport === 'tls' ? platform.provisionTlsPort : platform.accountTlsPort;
      return {
        pid: platform.pid,
        target: transport === 'tcp' ? { port } : { port, tls: { ca: rootCa } },
        gc: () => platform.gc(),
        stop: () => platform.stop(),
      };
    };
    const startReference = (transport: Transport, directory: string) => async (): Promise<RunningBroker> => {
      const mosquitto = await startMosquitto({
        directory,
        credentials: passwordIdentities.map((i) => ({ username: i.username!, password: i.password! })),
        caDir,
      });
      const port = transport === 'tcp' ? mosquitto.tcpPort : transport === 'tls' ? mosquitto.tlsPort : mosquitto.mtlsPort;
      return { pid: mosquitto.pid, target: transport === 'tcp' ? { port } : { port, tls: { ca: rootCa } }, gc: async () => {}, stop: () => mosquitto.stop() };
    };
    const allCases: { scenario: string; transport: Transport; identities: DeviceIdentity[]; ours: string }[] = [
      { scenario: 'account-mtls', transport: 'mtls', identities: certificateIdentities, ours: 'account broker' },
      { scenario: 'provision-tcp', transport: 'tcp', identities: passwordIdentities, ours: 'provision broker' },
      { scenario: 'provision-tls', transport: 'tls', identities: passwordIdentities, ours: 'provision broker' },
    ];
    const cases = allCases.filter((c) => scenarios.includes(c.scenario));

    const results: Record<string, unknown>[] = [];
    const rows: Record<string, Cell>[] = [];
    const perConnection: Record<string, { ours: number; theirs: number }> = {};
    const mosquittoDir = path.join(workDir, 'mosquitto');
    await mkdir(mosquittoDir, { recursive: true });
    for (const c of cases) {
      const ours: Measurement[] = [];
      const theirs: Measurement[] = [];
      for (let r = 0; r < flags.rounds; r++) {
        // Alternate which goes first, so drift of the machine hits both alike.
        const order = r % 2 === 0 ? ['ours', 'theirs'] : ['theirs', 'ours'];
        for (const who of order) {
          const m = await measure(who === 'ours' ? startProvisio(c.transport) : startReference(c.transport, mosquittoDir), c.identities);
          (who === 'ours' ? ours : theirs).push(m);
          const label = who === 'ours' ? `provisio ${c.ours}` : 'mosquitto';
          process.stdout.write(
            `  ${c.scenario} round ${r + 1} ${label}: ${m.connected} idle (${m.failures} failed${m.firstFailure ? `: ${m.firstFailure}` : ''}), ` +
              `RSS ${Math.round(m.beforeKb / 1024)} → ${Math.round(m.afterKb / 1024)} MiB, ${Math.round(m.bytesPerConnection)} B/connection\n`,
          );
        }
      }
      const oursBytes = median(ours.map((m) => m.bytesPerConnection));
      const theirsBytes = median(theirs.map((m) => m.bytesPerConnection));
      perConnection[c.scenario] = { ours: oursBytes, theirs: theirsBytes };
      const r = ratio(oursBytes, theirsBytes);
      results.push({
        scenario: c.scenario,
        transport: c.transport,
        provisio: { broker: c.ours, bytesPerConnection: round(oursBytes), rounds: ours },
        mosquitto: { bytesPerConnection: round(theirsBytes), rounds: theirs },
        ratio: r && round(r),
      });
      rows.push({
        scenario: c.scenario,
        'provisio broker': c.ours,
        connections: median(ours.map((m) => m.connected)),
        'provisio KB/conn': round(oursBytes / 1000),
        'mosquitto KB/conn': round(theirsBytes / 1000),
        ratio: r && round(r),
        'provisio RSS idle→loaded MiB': `${Math.round(median(ours.map((m) => m.beforeKb)) / 1024)}→${Math.round(median(ours.map((m) => m.afterKb)) / 1024)}`,
        'mosquitto RSS idle→loaded MiB': `${Math.round(median(theirs.map((m) => m.beforeKb)) / 1024)}→${Math.round(median(theirs.map((m) => m.afterKb)) / 1024)}`,
      });
    }
    printTable(`Idle connections, RSS per connection (median of ${flags.rounds} rounds, fresh broker each, ${flags['settle-ms']} ms settle + GC)`, rows);
    const targets = [];
    if (perConnection['provision-tcp']) {
      targets.push(
        checkTarget('RSS per idle device over TCP (provision broker)', round(perConnection['provision-tcp'].ours / 1000), tcpLimitBytes / 1000, 'KB', 'atMost'),
      );
    }
    for (const scenario of ['account-mtls', 'provision-tls']) {
      const p = perConnection[scenario];
      if (!p) continue;
      const r = ratio(p.ours, p.theirs);
      targets.push(
        checkTarget(`RSS per idle device over TLS vs mosquitto (${scenario})`, r === null ? null : round(r), tlsLimitRatio, '× mosquitto', 'atMost'),
      );
    }
    await writeResult(flags.json, context, {
      benchmark: 'idle-memory',
      parameters: { ...flags, json: undefined },
      results: { provisioningFailures, certificateDevices: certificateIdentities.length, scenarios: results },
      targets,
      notes: [
        'The platform process holds everything (both brokers, API, provisioner): its RSS delta is what N idle devices cost the all-in-one process.',
        'The platform is collected with global.gc() through bench/support/gc-preload.ts (loaded with --expose-gc); mosquitto has no GC.',
        ...(provisioningFailures > 0
          ? [`${provisioningFailures} devices failed to provision or reach the account broker, so the account-mtls scenario holds fewer connections.`]
          : []),
      ],
    });
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

await main();
