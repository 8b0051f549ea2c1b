import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePlatformPorts,
  startPlatformProcess,
  stopPlatformProcess,
  type PlatformPorts,
  type PlatformProcess,
  adminApiOf,
} from './support/platform-process.ts';

/**
 * The platform dies under a running `agent-sim fleet` (issue 12 §4, issue 20 §4): kill -9 of the
 * all-in-one process in the middle of the rollout. Without a restart the fleet must end within a
 * bound set by its settings, print its summary and exit 1 (some devices failed), never 13 (a
 * promise that never settled); with a restart its devices finish and it exits 0.
 *
 * Devices reach the account broker over a slow link (a relay), and the platform is killed when a
 * birth is on its way: the device then waits for a PUBACK that never comes, the wait that hung.
 */
const adminToken = 'fleet-kill-admin-token-0123456789ab';
const deviceCount = 80;
const concurrency = 20;
const linkDelayMs = 50;

interface FleetRun {
  readonly exited: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; endedAt: number }>;
}

function startFleet(args: string[]): FleetRun {
  const child = spawn(process.execPath, [new URL('../agent-sim/bin.js', import.meta.url).pathname, 'fleet', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  process.once('exit', () => child.kill('SIGKILL'));
  return {
    exited: new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr, endedAt: Date.now() }))),
  };
}

/**
 * A TCP relay to 127.0.0.1:targetPort over a slow link: what either side sends arrives `delayMs`
 * late, and so does the end of the connection. It counts what a device sends on each connection
 * in bursts (data after at least `delayMs` of quiet); to the account broker over TLS 1.3 the third
 * is the birth PUBLISH (ClientHello; certificate, Finished and CONNECT; PUBLISH).
 */
async function slowLink(targetPort: number, delayMs: number): Promise<{ port: number; nextBirth(): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let onBirth = (): void => undefined;
  const later = (action: () => void): void => void setTimeout(action, delayMs);
  const server = createServer((device) => {
    const broker = connect(targetPort, '127.0.0.1');
    for (const socket of [device, broker]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    let bursts = 0;
    let lastDataAt = 0;
    device.on('data', (chunk: Buffer) => {
      if (Date.now() - lastDataAt >= delayMs && (bursts += 1) === 3) onBirth();
      lastDataAt = Date.now();
      later(() => broker.write(chunk));
    });
    broker.on('data', (chunk: Buffer) => later(() => device.write(chunk)));
    device.on('close', () => later(() => broker.end()));
    broker.on('close', () => later(() => device.end()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    /** Resolves when a device has sent its birth, before the broker has it. */
    nextBirth: () =>
      new Promise<void>((resolve) => {
        onBirth = () => {
          onBirth = () => undefined;
          resolve();
        };
      }),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('agent-sim fleet when the platform is killed with kill -9 under it', () => {
  let workDir: string;
  let ports: PlatformPorts;
  let platform: PlatformProcess | null = null;
  let link: Awaited<ReturnType<typeof slowLink>>;
  const start = (dataDir: string): Promise<PlatformProcess> =>
    startPlatformProcess({ dataDir, ports, adminToken, env: { PROVISIO_ACCOUNT_BROKER_URL: `mqtts://localhost:${link.port}` } });

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'provisio-fleet-kill-'));
    ports = await freePlatformPorts();
    link = await slowLink(ports.account, linkDelayMs);
  });
  after(async () => {
    if (platform) await stopPlatformProcess(platform, 'SIGKILL');
    await link.close();
    await rm(workDir, { recursive: true, force: true });
  });

  const api = (method: string, path: string, body?: unknown, accept?: string): Promise<Response> => adminApiOf(ports, adminToken)(method, path, body, accept);

  /** A platform on its own data directory, `deviceCount` requests, and the files the fleet reads. */
  async function prepare(name: string): Promise<{ dataDir: string; args: string[] }> {
    const dataDir = join(workDir, name);
    platform = await start(dataDir);
    const account = (await (await api('POST', '/accounts', { name })).json()) as { id: string };
    const requests = Array.from({ length: deviceCount }, (_, i) => ({ accountId: account.id, clientId: `${name}-${String(i).padStart(3, '0')}` }));
    const csv = await (await api('POST', '/provision-requests/batch', { requests }, 'text/csv')).text();
    const csvFile = join(workDir, `${name}.csv`);
    const rootFile = join(workDir, `${name}-root.pem`);
    await writeFile(csvFile, csv);
    await writeFile(rootFile, await readFile(join(dataDir, 'ca', 'root-ca.cert.pem'), 'utf8'));
    return {
      dataDir,
      args: [
        '--credentials',
        csvFile,
        '--root-ca',
        rootFile,
        '--broker-url',
        `mqtts://localhost:${ports.mqtts}`,
        '--state-root',
        join(workDir, `${name}-devices`),
        '--concurrency',
        String(concurrency),
      ],
    };
  }

  /** Waits until `count` requests are COMPLETED (their devices are then on their way to the account broker). */
  async function completed(count: number, fleet: FleetRun): Promise<void> {
    let fleetEnded = false;
    void fleet.exited.then(() => (fleetEnded = true));
    for (;;) {
      const page = (await (await api('GET', '/provision-requests?jobStatus=COMPLETED&limit=1')).json()) as { total: number };
      if (page.total >= count) return;
      if (fleetEnded) throw new Error(`the fleet ended before ${count} devices completed: ${JSON.stringify(await fleet.exited)}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  it('Should end within its retry budget, print its summary and exit 1 when the platform stays dead', { timeout: 60_000 }, async () => {
    const { args } = await prepare('dead');
    const timeoutMs = 1000;
    const retryIntervalMs = 200;
    const attempts = 3;
    const fleet = startFleet([
      ...args,
      '--timeout',
      String(timeoutMs),
      '--retry-interval',
      String(retryIntervalMs),
      '--retry-max-attempts',
      String(attempts),
      '--json',
    ]);
    await completed(deviceCount / 2, fleet);
    await link.nextBirth();
    platform!.child.kill('SIGKILL');
    assert.equal(await platform!.exited, 'SIGKILL');
    const killedAt = Date.now();
    platform = null;

    // Every device still running or waiting ends after at most `attempts` tries to provision and
    // as many to reach its account broker, each bounded by `timeout`, with retry-interval between:
    // `concurrency` devices at a time; with nobody listening any more each costs little more than its waits.
    const perDeviceMs = 2 * attempts * (timeoutMs + retryIntervalMs) + 2 * linkDelayMs;
    const boundMs = perDeviceMs * Math.ceil(deviceCount / concurrency) + 5_000;
    const result = await Promise.race([fleet.exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), boundMs).unref())]);
    assert.ok(result, `the fleet did not end within ${boundMs} ms of the kill`);
    assert.notEqual(result.code, 13, `exit 13: a promise never settled\n${result.stderr}`);
    assert.equal(result.code, 1, `exit ${result.code} (${result.signal})\n${result.stdout}\n${result.stderr}`);
    const summary = JSON.parse(result.stdout) as { requested: number; provisioned: number; failed: number; failuresByReason: Record<string, number> };
    assert.equal(summary.requested, deviceCount);
    assert.ok(summary.provisioned > 0 && summary.provisioned < deviceCount, `provisioned ${summary.provisioned}`);
    assert.equal(summary.provisioned + summary.failed, deviceCount);
    assert.equal(
      Object.values(summary.failuresByReason).reduce((a, b) => a + b, 0),
      summary.failed,
    );
    process.stdout.write(`# ended ${result.endedAt - killedAt} ms after the kill (bound ${boundMs} ms): ${JSON.stringify(summary.failuresByReason)}\n`);
  });

  it('Should provision every device and exit 0 when the platform comes back after kill -9', { timeout: 90_000 }, async () => {
    const { dataDir, args } = await prepare('back');
    // Retries long enough to outlast the restart (and the provisioner's 30 s take-over of a claim
    // whose worker died, should the kill hit one).
    const fleet = startFleet([...args, '--timeout', '1000', '--retry-interval', '300', '--retry-max-attempts', '40']);
    await completed(deviceCount / 2, fleet);
    await link.nextBirth();
    platform!.child.kill('SIGKILL');
    assert.equal(await platform!.exited, 'SIGKILL');
    platform = await start(dataDir);

    const result = await fleet.exited;
    assert.equal(result.code, 0, `exit ${result.code} (${result.signal})\n${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, new RegExp(`^provisioned ${deviceCount} of ${deviceCount}, failed 0$`, 'm'));
    assert.match(result.stdout, /devices\/s over/);
    const page = (await (await api('GET', '/provision-requests?jobStatus=COMPLETED&limit=1')).json()) as { total: number };
    assert.equal(page.total, deviceCount);
  });
});
