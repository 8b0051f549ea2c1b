import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Aedes, AuthorizePublishHandler, AuthorizeSubscribeHandler, Client } from 'aedes';
import { runDevice } from '../agent-sim/device-agent.ts';
import type { DeviceState } from '../agent-sim/device-state.ts';
import { answerWithin, closeWithin, connectWithin } from '../agent-sim/mqtt-waits.ts';
import { createAccountAndRequest, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { newSimulatedDevice } from './support/simulated-device.ts';

/**
 * Every wait of agent-sim ends within its settings (issue 20 §4, issue 12 §4): brokers that accept
 * a connection and then never answer one packet, a connection dropped while a PUBACK is pending,
 * a bundle server that never answers, and SIGINT/SIGTERM under a running fleet. Real sockets: the
 * platform's own brokers with a hook that never calls back, and a TCP server that never speaks.
 */

/** A TCP server that accepts connections and never sends a byte (a hung broker, a hung web server). */
class SilentServer {
  readonly sockets = new Set<Socket>();
  private readonly server: Server = createServer((socket) => {
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
    this.connections += 1;
    this.onConnection();
  });
  connections = 0;
  port = 0;
  private onConnection = (): void => undefined;

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  /** Resolves once `count` connections have been accepted in all. */
  connected(count: number): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.connections >= count) resolve();
      };
      this.onConnection = check;
      check();
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function runCli(
  args: string[],
  onSpawn?: (kill: (signal: NodeJS.Signals) => void) => void,
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [new URL('../agent-sim/bin.js', import.meta.url).pathname, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    onSpawn?.((signal) => child.kill(signal));
  });
}

type Tail<T extends unknown[]> = T extends [unknown, ...infer Rest] ? Rest : never;

/** Replaces a broker's authorizePublish for the clients `applies` picks; returns the undo. */
function hookPublish(
  aedes: Aedes,
  applies: (clientId: string) => boolean,
  hook: (client: Client, ...rest: Tail<Parameters<AuthorizePublishHandler>>) => void,
): () => void {
  const original = aedes.authorizePublish;
  aedes.authorizePublish = (client, packet, callback) => {
    if (client && applies(client.id)) return hook(client, packet, callback);
    return original.call(aedes, client, packet, callback);
  };
  return () => {
    aedes.authorizePublish = original;
  };
}

function hookSubscribe(
  aedes: Aedes,
  applies: (clientId: string) => boolean,
  hook: (client: Client, ...rest: Tail<Parameters<AuthorizeSubscribeHandler>>) => void,
): () => void {
  const original = aedes.authorizeSubscribe;
  aedes.authorizeSubscribe = (client, subscription, callback) => {
    if (client && applies(client.id)) return hook(client, subscription, callback);
    return original.call(aedes, client, subscription, callback);
  };
  return () => {
    aedes.authorizeSubscribe = original;
  };
}

const never = (): void => undefined;
const quick = { timeout: 500, 'retry-interval': 100, 'retry-max-attempts': 2 } as const;

describe('agent-sim: every wait ends within its settings', () => {
  let fixture: TestPlatform;
  let silent: SilentServer;
  let workDir: string;

  before(async () => {
    silent = new SilentServer();
    const silentPort = await silent.listen();
    // Bundle links point at the silent server: a download there never gets an answer.
    fixture = await startTestPlatform({ logLevel: 'warn', publicHttpUrl: `http://127.0.0.1:${silentPort}` });
    workDir = await mkdtemp(join(tmpdir(), 'provisio-bounded-'));
  });
  after(async () => {
    await silent.close();
    await fixture.close();
    await rm(workDir, { recursive: true, force: true });
  });

  /** A device provisioned and online once; its restarts go straight to the account broker. */
  async function provisionedDevice(clientId: string): Promise<DeviceState> {
    const state = await newSimulatedDevice(fixture, await createAccountAndRequest(fixture, clientId), quick);
    const first = await runDevice(state);
    assert.equal(first.status, 'online', first.status === 'failed' ? first.reason : first.status);
    if (first.status === 'online') await first.accountClient.endAsync();
    return state;
  }

  async function fleetFiles(prefix: string, count: number): Promise<string[]> {
    const account = await fixture.api<{ id: string }>('POST', '/accounts', { name: `${prefix}-account` });
    const requests = Array.from({ length: count }, (_, i) => ({ accountId: account.body.id, clientId: `${prefix}-${i}` }));
    const response = await fetch(`${fixture.apiUrl}/provision-requests/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/json', accept: 'text/csv' },
      body: JSON.stringify({ requests }),
    });
    assert.equal(response.status, 201);
    const csvFile = join(workDir, `${prefix}.csv`);
    const rootFile = join(workDir, 'root.pem');
    await writeFile(csvFile, await response.text());
    await writeFile(rootFile, fixture.rootPem);
    return ['fleet', '--credentials', csvFile, '--root-ca', rootFile, '--state-root', join(workDir, `${prefix}-devices`)];
  }

  it('Should fail with a timeout after `timeout` when the account broker never acknowledges the birth', { timeout: 20_000 }, async () => {
    const state = await provisionedDevice('birth-unanswered');
    let births = 0;
    const undo = hookPublish(
      fixture.platform.accountBroker.aedes,
      (id) => id === 'birth-unanswered',
      () => {
        births += 1; // and never call back: no PUBACK, ever
      },
    );
    try {
      const startedAt = Date.now();
      await assert.rejects(runDevice(state), /^Error: account broker: timeout waiting for the PUBACK of the birth message \(500 ms\)$/);
      const elapsed = Date.now() - startedAt;
      assert.equal(births, 2, 'one birth per attempt (retry-max-attempts 2)');
      assert.ok(elapsed >= 2 * quick.timeout && elapsed < 2 * quick.timeout + quick['retry-interval'] + 2_000, `ended after ${elapsed} ms`);

      // The command line says so and exits 1 (a device did not come online).
      const cli = await runCli(['device', '--state-dir', state.directory]);
      assert.equal(cli.code, 1, cli.stderr + cli.stdout);
      assert.match(cli.stdout, /device not online: account broker: timeout waiting for the PUBACK of the birth message \(500 ms\)/);
    } finally {
      undo();
    }
  });

  it('Should retry a birth whose connection drops before its PUBACK, and come online', { timeout: 20_000 }, async () => {
    const state = await provisionedDevice('birth-dropped');
    let births = 0;
    const undo = hookPublish(
      fixture.platform.accountBroker.aedes,
      (id) => id === 'birth-dropped',
      (client, packet, callback) => {
        births += 1;
        if (births === 1)
          client.close(); // the platform dies between the birth and its PUBACK
        else callback(null);
      },
    );
    try {
      const steps: string[] = [];
      const result = await runDevice(state, { onStep: (step, detail) => steps.push(`${step} ${detail ?? ''}`) });
      assert.equal(result.status, 'online');
      if (result.status === 'online') await result.accountClient.endAsync();
      assert.equal(births, 2);
      assert.ok(steps.includes('retry account broker: connection lost waiting for the PUBACK of the birth message'), steps.join('\n'));
    } finally {
      undo();
    }
  });

  it('Should end a fleet whose births are never acknowledged with its summary and exit 1, not 13', { timeout: 30_000 }, async () => {
    const args = await fleetFiles('fleet-dropped', 6);
    const undo = hookPublish(
      fixture.platform.accountBroker.aedes,
      (id) => id.startsWith('fleet-dropped-'),
      (client) => client.close(),
    );
    try {
      const result = await runCli([
        ...args,
        '--broker-url',
        `mqtts://localhost:${fixture.platform.provisionBroker.mqttsPort}`,
        '--timeout',
        '1000',
        '--retry-interval',
        '100',
        '--retry-max-attempts',
        '2',
        '--concurrency',
        '3',
      ]);
      assert.equal(result.code, 1, `exit ${result.code}\n${result.stdout}\n${result.stderr}`);
      assert.match(result.stdout, /^provisioned 0 of 6, failed 6$/m);
      assert.match(result.stdout, /^ {2}6 × account broker: connection lost waiting for the PUBACK of the birth message$/m);
      assert.match(result.stdout, /devices\/s over .*\nlatency to birth: p50/);
    } finally {
      undo();
    }
  });

  it('Should give up on a provision broker that never answers SUBSCRIBE', { timeout: 20_000 }, async () => {
    const request = await createAccountAndRequest(fixture, 'suback-never');
    const undo = hookSubscribe(fixture.platform.provisionBroker.aedes, (id) => id === 'suback-never', never);
    try {
      const result = await runDevice(await newSimulatedDevice(fixture, request, quick));
      assert.equal(result.status, 'failed');
      assert.equal(result.attempts, 2);
      if (result.status === 'failed') assert.equal(result.reason, 'timeout waiting for the SUBACK (500 ms)');
    } finally {
      undo();
    }
  });

  it('Should give up on a provision broker that never acknowledges the request PUBLISH', { timeout: 20_000 }, async () => {
    const request = await createAccountAndRequest(fixture, 'puback-never');
    const undo = hookPublish(fixture.platform.provisionBroker.aedes, (id) => id === 'puback-never', never);
    try {
      const result = await runDevice(await newSimulatedDevice(fixture, request, quick));
      assert.equal(result.status, 'failed');
      if (result.status === 'failed') assert.equal(result.reason, 'timeout waiting for the PUBACK of the provision request (500 ms)');
    } finally {
      undo();
    }
  });

  it('Should give up on a broker that accepts TCP and never completes TLS or sends CONNACK', { timeout: 20_000 }, async () => {
    const request = await createAccountAndRequest(fixture, 'connack-never');
    const state = await newSimulatedDevice(fixture, request, { ...quick, 'broker-url': `mqtts://127.0.0.1:${silent.port}` });
    const before = silent.connections;
    const result = await runDevice(state);
    assert.equal(result.status, 'failed');
    if (result.status === 'failed') assert.equal(result.reason, 'cannot connect: timeout waiting for the CONNACK (500 ms)');
    assert.equal(silent.connections - before, 2, 'two attempts');
  });

  it('Should give up on a bundle download that never gets an answer', { timeout: 20_000 }, async () => {
    const account = await fixture.api<{ id: string }>('POST', '/accounts', { name: 'bundle-never' });
    const upload = await fetch(`${fixture.apiUrl}/bundles?accountId=${account.body.id}&name=app&version=1.0.0`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/octet-stream' },
      body: Buffer.from('bundle bytes'),
    });
    assert.equal(upload.status, 201);
    const bundle = (await upload.json()) as { id: string };
    const request = await createAccountAndRequest(fixture, 'bundle-never-1', { account: 'bundle-never', extra: { bundleIds: [bundle.id] } });
    const result = await runDevice(await newSimulatedDevice(fixture, request, quick));
    assert.equal(result.status, 'failed');
    if (result.status === 'failed') assert.equal(result.reason, 'bundle app: timeout waiting for the download (500 ms)');
  });

  it('Should close within `timeout` a connection whose broker sent CONNACK and then nothing (half-open)', { timeout: 20_000 }, async () => {
    // A raw TCP server that answers the CONNECT with CONNACK 0 and then ignores everything,
    // DISCONNECT and the end of the device's side included: it never closes its own.
    const sockets = new Set<Socket>();
    const server = createServer({ allowHalfOpen: true }, (socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.once('data', () => socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00])));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    // The device's end of the connection, as the server sees it.
    const ended = new Promise<void>((resolve) => server.once('connection', (socket) => socket.once('end', () => resolve())));
    try {
      const client = await connectWithin(`mqtt://127.0.0.1:${(server.address() as { port: number }).port}`, { clientId: 'half-open', protocolVersion: 4 }, 500);
      await assert.rejects(
        answerWithin(client, client.publishAsync('t', 'x', { qos: 1 }), 'PUBACK', 300),
        /^Error: timeout waiting for the PUBACK \(300 ms\)$/,
      );
      const startedAt = Date.now();
      await closeWithin(client, 300);
      await ended;
      assert.ok(Date.now() - startedAt < 1_500, `closed after ${Date.now() - startedAt} ms`);

      // The polite way (DISCONNECT, then wait for the broker to close) gives up after `timeout` too.
      const second = await connectWithin(
        `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`,
        { clientId: 'half-open-2', protocolVersion: 4 },
        500,
      );
      const politeStart = Date.now();
      await closeWithin(second, 300);
      const politeMs = Date.now() - politeStart;
      assert.ok(politeMs >= 250 && politeMs < 1_500, `closed after ${politeMs} ms`);
      assert.equal(second.stream.destroyed, true);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`Should stop a fleet on ${signal}, print its summary and exit ${code}`, { timeout: 20_000 }, async () => {
      const args = await fleetFiles(`fleet-${signal.toLowerCase()}`, 4);
      const connectionsBefore = silent.connections;
      const startedAt = Date.now();
      let stoppedAt = 0;
      // Devices that wait 30 s for a CONNACK from a broker that never answers; stopped once two wait.
      const result = await runCli(
        [...args, '--broker-url', `mqtts://127.0.0.1:${silent.port}`, '--timeout', '30000', '--concurrency', '2', '--json'],
        (kill) => {
          void silent.connected(connectionsBefore + 2).then(() => {
            stoppedAt = Date.now();
            kill(signal);
          });
        },
      );
      assert.equal(result.code, code, `exit ${result.code} (${result.signal})\n${result.stdout}\n${result.stderr}`);
      assert.ok(Date.now() - stoppedAt < 5_000, `ended ${Date.now() - stoppedAt} ms after ${signal}`);
      assert.ok(Date.now() - startedAt < 15_000);
      const summary = JSON.parse(result.stdout) as { requested: number; provisioned: number; failed: number; stopped: number };
      assert.deepEqual([summary.requested, summary.provisioned, summary.failed, summary.stopped], [4, 0, 0, 4]);
      assert.match(result.stderr, new RegExp(`${signal}: stopping`));
    });
  }
});
