import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect as connectTcp, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectAsync } from 'mqtt';
import { DeviceState } from '../agent-sim/device-state.ts';
import { renewalMoment } from '../agent-sim/online-session.ts';
import { makeDeviceKey } from '../agent-sim/provisioning-flow.ts';
import { settingsFor } from '../agent-sim/settings.ts';
import type { CertificateAuthority } from '../certs/certificate-authority.ts';
import { distinctFreePorts } from '../dev-support/ports.ts';
import { configurationHash } from '../protocol/configuration-hash.ts';
import { createCertificateSigningRequest } from '../protocol/csr.ts';
import { openTestCa, removeTemporaryDirectories, temporaryDirectory } from './support/ca-test-kit.ts';
import { createAccountAndRequest, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { runAgentSimCli } from './support/agent-sim-cli.ts';
import { adminApiOf, freePlatformPorts, startPlatformProcess, stopPlatformProcess, type PlatformProcess } from './support/platform-process.ts';

/**
 * agent-sim renews its certificate on its own (issue 14 §4, CERT-V1), against the real platform
 * over TLS. Certificates last 60 s and renewal.after is counted from their issue, so with a renewal
 * share of 0.1 it falls 6 s after each issue; a jitter of at most 2 s keeps a renewal within seconds.
 */
const platformSettings = { deviceCertValiditySeconds: 60, certificateRenewalShare: 0.1 } as const;
const agentTimings = ['--timeout', '5000', '--retry-interval', '300', '--renewal-jitter-max-seconds', '2'];

/** Serials of a device's certificates as the admin API lists them. */
async function certificatesOf(fixture: TestPlatform, clientId: string): Promise<{ serial: string; status: string }[]> {
  const page = await fixture.api<{ items: { serial: string; status: string }[] }>('GET', `/certificates?clientId=${encodeURIComponent(clientId)}&limit=100`);
  assert.equal(page.status, 200);
  return page.body.items;
}

const sameSerial = (a: string, b: string): boolean => a.toLowerCase().replace(/^0+/, '') === b.toLowerCase().replace(/^0+/, '');

/** The pair current.json names, with its certificate and key, and every client*.pem / client*.key file in the directory. */
async function pairIn(
  stateDir: string,
): Promise<{ pair: string; certificate: X509Certificate; keyPem: string; pairFiles: string[]; current: Record<string, unknown> }> {
  const current = JSON.parse(await readFile(join(stateDir, 'current.json'), 'utf8')) as { pair: string };
  const files = await readdir(stateDir);
  return {
    pair: current.pair,
    certificate: new X509Certificate(await readFile(join(stateDir, `${current.pair}.pem`), 'utf8')),
    keyPem: await readFile(join(stateDir, `${current.pair}.key`), 'utf8'),
    pairFiles: files.filter((name) => /^client/.test(name)).sort(),
    current,
  };
}

/**
 * A TCP relay to the account broker that can lose a renewal reply: armed, it passes the next
 * large message a device sends (a renewal request carries a CSR: the only message above 400
 * bytes a device sends once online) and then swallows everything the broker sends on that
 * connection, which it leaves open (the agent waits for its reply until `timeout`).
 */
async function replyEatingRelay(targetPort: number): Promise<{ port: number; arm(): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let armed: (() => void) | null = null;
  const server: Server = createServer((device) => {
    const broker = connectTcp(targetPort, '127.0.0.1');
    let eating = false;
    for (const socket of [device, broker]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    device.on('data', (chunk: Buffer) => {
      broker.write(chunk);
      if (armed && chunk.length > 400) {
        eating = true;
        const done = armed;
        armed = null;
        done();
      }
    });
    broker.on('data', (chunk: Buffer) => {
      if (!eating) device.write(chunk);
    });
    device.on('close', () => broker.destroy());
    broker.on('close', () => device.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    arm: () => new Promise<void>((resolve) => (armed = resolve)),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `agent-sim` as a child process whose output lines can be awaited. */
function startAgent(args: readonly string[]) {
  const child = spawn(process.execPath, [new URL('../agent-sim/bin.js', import.meta.url).pathname, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  process.once('exit', () => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const listener of listeners) listener();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  return {
    child,
    exited,
    output: () => stdout,
    errors: () => stderr,
    /** The first output line matching `pattern`, within timeoutMs. */
    line(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const match = stdout
            .split('\n')
            .map((line) => line.match(pattern))
            .find((found) => found !== null);
          if (!match) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(match);
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
  };
}

/** A certificate for a new key of clientId from `ca`, as a provision or renewal result carries it. */
async function issued(ca: CertificateAuthority, clientId: string): Promise<{ certPem: string; keyPem: string; notAfter: number }> {
  const key = makeDeviceKey();
  const certificate = await ca.issueFromCsr(createCertificateSigningRequest(clientId, key), { clientId, account: 'acme' });
  return { certPem: certificate.certPem, keyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(), notAfter: certificate.notAfter };
}

describe('agent-sim state directory across a renewal', () => {
  let ca: CertificateAuthority;
  let state: DeviceState;
  let original: Awaited<ReturnType<typeof issued>>;
  const chain = (): string[] => [ca.issuingCertificatePem, ca.rootCertificatePem];
  const renewalResult = (certPem: string, notAfter: number) => ({
    clientId: 'flash',
    requestId: 'renewal-1',
    account: 'acme',
    issuedOn: Date.now(),
    certificates: { client: certPem, chain: chain(), signing: ca.signingCredentials.certPem },
    renewal: { after: notAfter - 1000, notAfter },
  });

  before(async () => {
    ca = await openTestCa(await temporaryDirectory());
    state = new DeviceState(join(await temporaryDirectory('agent-sim-renewal-flash-'), 'flash'));
    await state.initialise(settingsFor({ mac: 'flash', serial: '1', password: 'secret' }), ca.rootCertificatePem);
    original = await issued(ca, 'flash');
    const content = JSON.stringify({ device: 'flash' });
    await state.saveProvisioning(
      {
        clientId: 'flash',
        requestId: 'request-1',
        account: 'acme',
        issuedOn: Date.now(),
        certificates: { client: original.certPem, chain: chain(), signing: ca.signingCredentials.certPem },
        configuration: { content, sha256: configurationHash(content) },
        bundles: [],
        next: { brokerUrl: 'mqtts://localhost:8884', clientId: 'flash', account: 'acme', auth: 'client-certificate' },
      },
      original.keyPem,
    );
  });
  after(removeTemporaryDirectories);

  it('Should keep the old pair in use when the power fails before the switch, whatever was half written', async () => {
    const renewed = await issued(ca, 'flash');
    const serial = new X509Certificate(renewed.certPem).serialNumber.toLowerCase();
    // What a power cut can leave: the new pair (or part of it) and a temporary current.json, never renamed.
    await writeFile(join(state.directory, `client-${serial}.key`), renewed.keyPem);
    await writeFile(join(state.directory, `client-${serial}.pem.tmp`), renewed.certPem.slice(0, 100));
    await writeFile(join(state.directory, 'current.json.tmp'), '{"pair":"client-');
    const credentials = await state.accountCredentials();
    assert.equal(credentials.certPem, original.certPem);
    assert.equal(credentials.keyPem, original.keyPem);
    assert.equal(credentials.unconfirmed, false);
  });

  it('Should switch to the new pair in one step, keep the old one until confirmed, and fall back to it', async () => {
    const renewed = await issued(ca, 'flash');
    const pair = await state.installRenewal(renewalResult(renewed.certPem, renewed.notAfter), renewed.keyPem);
    let credentials = await state.accountCredentials();
    assert.equal(credentials.pair, pair);
    assert.equal(credentials.certPem, renewed.certPem);
    assert.equal(credentials.unconfirmed, true, 'the old pair is kept until the account broker took the new one');
    assert.deepEqual(credentials.renewal, { after: renewed.notAfter - 1000, notAfter: renewed.notAfter });
    assert.ok((await readdir(state.directory)).includes('client.pem'));

    assert.equal(await state.fallBackToPreviousPair(), true);
    credentials = await state.accountCredentials();
    assert.equal(credentials.certPem, original.certPem, 'refused: back on the old pair');
    assert.deepEqual((await readdir(state.directory)).filter((name) => name.startsWith('client')).sort(), ['client.key', 'client.pem']);

    const again = await issued(ca, 'flash');
    const next = await state.installRenewal(renewalResult(again.certPem, again.notAfter), again.keyPem);
    await state.confirmCurrentPair();
    credentials = await state.accountCredentials();
    assert.equal(credentials.unconfirmed, false);
    assert.deepEqual((await readdir(state.directory)).filter((name) => name.startsWith('client')).sort(), [`${next}.key`, `${next}.pem`], 'one pair left');
  });

  it('Should pick the renewal moment in the first half of the window, no later than the jitter bound', () => {
    const window = { after: 1_000_000, notAfter: 1_100_000 };
    assert.equal(
      renewalMoment(window, undefined, () => 0),
      1_000_000,
    );
    assert.equal(
      renewalMoment(window, undefined, () => 0.999999),
      1_049_999,
    );
    assert.equal(
      renewalMoment(window, 2_000, () => 0.999999),
      1_001_999,
    );
  });
});

describe('agent-sim renews its certificate (CERT-V1)', () => {
  let fixture: TestPlatform;
  let workDir: string;
  let rootFile: string;
  let relay: Awaited<ReturnType<typeof replyEatingRelay>>;

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'provisio-renewal-'));
    const [accountPort = 0] = await distinctFreePorts(1);
    relay = await replyEatingRelay(accountPort);
    fixture = await startTestPlatform({ ...platformSettings, accountMqttsPort: accountPort });
    rootFile = join(workDir, 'root-ca.pem');
    await writeFile(rootFile, fixture.rootPem);
  });
  after(async () => {
    await fixture?.close();
    await relay?.close();
    await rm(workDir, { recursive: true, force: true });
  });

  async function newDevice(clientId: string): Promise<{ stateDir: string; args: string[]; requestId: string }> {
    const request = await createAccountAndRequest(fixture, clientId);
    const stateDir = join(workDir, clientId);
    return {
      stateDir,
      requestId: request.id,
      args: [
        'device',
        '--state-dir',
        stateDir,
        '--root-ca',
        rootFile,
        '--broker-url',
        `mqtts://localhost:${fixture.platform.provisionBroker.mqttsPort}`,
        '--client-id',
        clientId,
        '--username',
        request.username,
        '--password',
        request.password,
        ...agentTimings,
      ],
    };
  }

  it('Should renew on its own, end on the new certificate, and keep one working pair in its state directory', async () => {
    const { stateDir, args } = await newDevice('renew-alone');
    const run = await runAgentSimCli([...args, '--renewals', '1', '--stay-online', '60', '--json']);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    const summary = JSON.parse(run.stdout.trim().split('\n').pop()!) as { renewals: { renewed: number; refused: number }; certificate: string };
    assert.equal(summary.renewals.renewed, 1);
    assert.equal(summary.renewals.refused, 0);

    const state = await pairIn(stateDir);
    assert.deepEqual(state.pairFiles, [`${state.pair}.key`, `${state.pair}.pem`], 'one pair, no temporary file, the old pair gone');
    assert.equal(state.current['previous'], undefined, 'the new pair is confirmed');
    assert.ok(state.certificate.checkPrivateKey(createPrivateKey(state.keyPem)), 'the certificate is for the key beside it');
    assert.ok(state.certificate.subject.includes('CN=renew-alone'));

    let issued = await certificatesOf(fixture, 'renew-alone');
    // The platform revokes the old certificate when the new one connects, a moment after the CONNACK.
    for (let i = 0; i < 100 && !issued.some((certificate) => certificate.status === 'REVOKED'); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      issued = await certificatesOf(fixture, 'renew-alone');
    }
    assert.equal(issued.length, 2, 'the first certificate and one renewal');
    const current = issued.find((certificate) => sameSerial(certificate.serial, state.certificate.serialNumber));
    assert.ok(current, 'the state holds the renewed certificate');
    assert.equal(current.status, 'VALID');
    assert.ok(
      issued.some((certificate) => certificate !== current && certificate.status === 'REVOKED'),
      'the old one is revoked once the new one was used',
    );

    // The pair works: the account broker takes it.
    const client = await connectAsync(`mqtts://localhost:${fixture.platform.accountBroker.mqttsPort}`, {
      clientId: 'renew-alone',
      protocolVersion: 4,
      reconnectPeriod: 0,
      key: state.keyPem,
      cert: await readFile(join(stateDir, `${state.pair}.pem`), 'utf8'),
      ca: fixture.rootPem,
    });
    await client.endAsync();
  });

  it('Should recover a renewal whose reply was lost, across a restart, with the same request.id and the same new certificate', async () => {
    const { stateDir, args } = await newDevice('renew-lost');
    // Provisioned first, as the device leaves after its birth; then its account broker is the relay.
    const first = await runAgentSimCli(args);
    assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
    const accountFile = join(stateDir, 'account.json');
    const next = JSON.parse(await readFile(accountFile, 'utf8')) as Record<string, unknown>;
    await writeFile(accountFile, JSON.stringify({ ...next, brokerUrl: `mqtts://localhost:${relay.port}` }));
    const before = await pairIn(stateDir);

    const agent = startAgent(['device', '--state-dir', stateDir, ...agentTimings, '--renewals', '1', '--stay-online', '60']);
    await agent.line(/is online on/);
    await relay.arm(); // the renewal request went through; its reply is swallowed
    const [, requestId] = await agent.line(/^\s+renew: (\S+)$/);
    const pending = JSON.parse(await readFile(join(stateDir, 'renewal.json'), 'utf8')) as { requestId: string; keyPem: string };
    assert.equal(pending.requestId, requestId, 'the request is kept before it goes out');
    // The platform has answered by now (into the relay); the device dies before it hears it.
    for (let i = 0; i < 100 && (await certificatesOf(fixture, 'renew-lost')).length < 2; i += 1) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal((await certificatesOf(fixture, 'renew-lost')).length, 2, 'the platform issued the new certificate');
    agent.child.kill('SIGKILL');
    await agent.exited;
    assert.equal((await pairIn(stateDir)).pair, before.pair, 'still on the old pair');

    const again = await runAgentSimCli(['device', '--state-dir', stateDir, ...agentTimings, '--renewals', '1', '--stay-online', '60']);
    assert.equal(again.code, 0, `${again.stdout}\n${again.stderr}`);
    assert.match(again.stdout, new RegExp(`renew: ${requestId}\\n`), 'the same request.id again');
    const after = await pairIn(stateDir);
    assert.notEqual(after.pair, before.pair);
    assert.deepEqual(after.pairFiles, [`${after.pair}.key`, `${after.pair}.pem`]);
    assert.equal(after.keyPem, pending.keyPem, 'the key made for the lost request');
    const issued = await certificatesOf(fixture, 'renew-lost');
    assert.equal(issued.length, 2, 'the repeat got the same certificate, not a third one');
    assert.ok(issued.some((certificate) => sameSerial(certificate.serial, after.certificate.serialNumber)));
  });

  it('Should provision again when its certificate has expired, retrying until an operator allows it', async () => {
    const { stateDir, args, requestId } = await newDevice('renew-expired');
    const first = await runAgentSimCli(args);
    assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
    const before = await pairIn(stateDir);
    // The device's clock says its certificate has expired (what a device offline past notAfter finds at start).
    const currentFile = join(stateDir, 'current.json');
    await writeFile(currentFile, JSON.stringify({ ...before.current, renewal: { after: Date.now() - 2000, notAfter: Date.now() - 1000 } }));

    const agent = startAgent(['device', '--state-dir', stateDir, ...agentTimings]);
    await agent.line(/reprovision: the certificate has expired/);
    await agent.line(/retry: CONNACK [45]/); // its provision request is used up until an operator re-enables it
    const allowed = await fixture.api('POST', `/provision-requests/${requestId}/reprovision`);
    assert.ok(allowed.status >= 200 && allowed.status < 300, JSON.stringify(allowed));
    const exit = await agent.exited;
    assert.equal(exit.code, 0, `${agent.output()}\n${agent.errors()}`);
    assert.match(agent.output(), /is online on/);

    const after = await pairIn(stateDir);
    assert.notEqual(after.certificate.serialNumber, before.certificate.serialNumber, 'a new certificate');
    assert.ok(after.certificate.checkPrivateKey(createPrivateKey(after.keyPem)));
    assert.ok((after.current['renewal'] as { notAfter: number }).notAfter > Date.now(), 'a renewal window from the new provision result');
    assert.equal((await certificatesOf(fixture, 'renew-expired')).length, 2);
  });
});

/**
 * Issue 14's "done when": 200 devices stay connected through three renewals each while the
 * platform is restarted in the middle (SIGTERM, same data directory and ports), and the account
 * broker refuses none of their certificates (about 35 s here on 2 cores).
 */
const fleetSize = 200;
const renewalsPerDevice = 3;

describe('agent-sim fleet stays online through renewals and a platform restart', () => {
  let workDir: string;
  let platform: PlatformProcess | undefined;

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'provisio-renewal-fleet-'));
  });
  after(async () => {
    if (platform) await stopPlatformProcess(platform, 'SIGKILL');
    await rm(workDir, { recursive: true, force: true });
  });

  it(`Should renew ${renewalsPerDevice} times on each of ${fleetSize} devices, none refused, and count it in the summary`, async (t) => {
    const ports = await freePlatformPorts();
    const dataDir = join(workDir, 'platform');
    const adminToken = 'renewal-fleet-admin-token-0123456789';
    // The platform as its own process: its restart ends every connection, as a real one does.
    const start = (): Promise<PlatformProcess> =>
      startPlatformProcess({
        dataDir,
        ports,
        adminToken,
        env: {
          PROVISIO_DEVICE_CERT_VALIDITY_SECONDS: String(platformSettings.deviceCertValiditySeconds),
          PROVISIO_CERTIFICATE_RENEWAL_SHARE: String(platformSettings.certificateRenewalShare),
          // A fleet provisioned in a few seconds renews in a storm (the short jitter), three times a minute: beyond the
          // default burst of 5 and 12 an hour, which are meant for certificates of months.
          PROVISIO_CERTIFICATE_RENEWAL_BURST: '20',
          // Every device connects from 127.0.0.1: the default of 100 open connections per address would close the rest.
          PROVISIO_MQTT_CONNECTIONS_PER_ADDRESS: '10000',
        },
      });
    const api = adminApiOf(ports, adminToken);
    platform = await start();
    const account = (await (await api('POST', '/accounts', { name: 'fleet' })).json()) as { id: string };
    const requests = Array.from({ length: fleetSize }, (_, i) => ({ accountId: account.id, clientId: `fleet-${String(i).padStart(3, '0')}` }));
    const csv = await api('POST', '/provision-requests/batch', { requests }, 'text/csv');
    assert.equal(csv.status, 201);
    const csvFile = join(workDir, 'fleet.csv');
    const rootFile = join(workDir, 'root-ca.pem');
    await writeFile(csvFile, await csv.text());
    await writeFile(rootFile, await readFile(join(dataDir, 'ca', 'root-ca.cert.pem'), 'utf8'));

    const startedAt = Date.now();
    const fleet = startAgent([
      'fleet',
      '--credentials',
      csvFile,
      '--root-ca',
      rootFile,
      '--broker-url',
      `mqtts://localhost:${ports.mqtts}`,
      '--state-root',
      join(workDir, 'devices'),
      // All provisioned within a few seconds, so that they are all online, between renewals, at the restart.
      '--concurrency',
      String(fleetSize),
      '--renewals',
      String(renewalsPerDevice),
      '--stay-online',
      '150',
      '--json',
      ...agentTimings,
      // Devices that are provisioning or reaching their account broker when the platform stops retry through the restart.
      '--retry-max-attempts',
      '100',
    ]);
    const issued = async (): Promise<number> => ((await (await api('GET', '/certificates?limit=1')).json()) as { total: number }).total;
    /** Certificates issued to each device so far (its first one and its renewals). */
    const allCertificates = async (): Promise<{ clientId: string; createdOn: string }[]> => {
      const all: { clientId: string; createdOn: string }[] = [];
      for (let offset = 0; ; offset += 1000) {
        const page = (await (await api('GET', `/certificates?limit=1000&offset=${offset}`)).json()) as { items: { clientId: string; createdOn: string }[] };
        all.push(...page.items);
        if (page.items.length < 1000) break;
      }
      return all;
    };
    const perDevice = async (): Promise<number[]> => {
      const counts = new Map<string, number>();
      for (const item of await allCertificates()) counts.set(item.clientId, (counts.get(item.clientId) ?? 0) + 1);
      return requests.map((request) => counts.get(request.clientId) ?? 0);
    };
    // The middle: every device has renewed at least once.
    let counts = await perDevice();
    for (let i = 0; i < 300 && counts.some((count) => count < 2); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      counts = await perDevice();
    }
    if (counts.some((count) => count < 2)) {
      fleet.child.kill('SIGINT'); // its summary says where the devices stood
      await fleet.exited;
    }
    assert.ok(
      counts.every((count) => count >= 2),
      `every device renewed once within a minute (devices by certificates issued: ${JSON.stringify(counts.reduce<Record<number, number>>((byCount, count) => ({ ...byCount, [count]: (byCount[count] ?? 0) + 1 }), {}))}):\n${fleet.output()}`,
    );
    // Devices with two renewals still to go are sure to be online through the restart; one with a
    // single one left may finish it while the platform shuts down, and leave.
    const twoToGoAtRestart = requests.filter((_, i) => counts[i]! <= renewalsPerDevice - 1).map((request) => request.clientId);
    const onlineAtRestart = twoToGoAtRestart.length;
    await stopPlatformProcess(platform, 'SIGTERM');
    platform = await start();
    const restartedAt = Date.now();

    const exit = await fleet.exited;
    const summary = JSON.parse(fleet.output().trim().split('\n').pop()!) as {
      provisioned: number;
      renewals: {
        renewed: number;
        refused: number;
        reconnects: number;
        devicesShort: number;
        failuresByReason: Record<string, number>;
        latencyMs: { p50: number };
      };
    };
    assert.equal(exit.code, 0, `${fleet.output()}\n${fleet.errors()}`);
    assert.equal(summary.provisioned, fleetSize);
    assert.equal(summary.renewals.renewed, fleetSize * renewalsPerDevice);
    assert.equal(summary.renewals.devicesShort, 0);
    assert.equal(summary.renewals.refused, 0, `refusals: ${JSON.stringify(summary.renewals.failuresByReason)}`);
    // A device with two renewals to go when the counts were read has at least its last one to go
    // when the platform stopped: it came back to the restarted platform and renewed there.
    const lastIssue = new Map<string, number>();
    for (const item of await allCertificates()) lastIssue.set(item.clientId, Math.max(lastIssue.get(item.clientId) ?? 0, Date.parse(item.createdOn)));
    const notBack = twoToGoAtRestart.filter((clientId) => (lastIssue.get(clientId) ?? 0) < restartedAt);
    assert.deepEqual(
      notBack,
      [],
      `every device with renewals to go at the restart came back and renewed on the restarted platform (${onlineAtRestart} devices)`,
    );
    assert.ok(summary.renewals.latencyMs.p50 > 0);
    assert.equal(await issued(), fleetSize * (1 + renewalsPerDevice), 'one certificate per renewal, none issued twice');
    t.diagnostic(
      `${fleetSize} devices × ${renewalsPerDevice} renewals: ${((Date.now() - startedAt) / 1000).toFixed(1)} s (restart at ${((restartedAt - startedAt) / 1000).toFixed(1)} s, ${onlineAtRestart} devices with two renewals to go then), ` +
        `reconnects ${summary.renewals.reconnects}, renewal p50 ${summary.renewals.latencyMs.p50} ms, failures ${JSON.stringify(summary.renewals.failuresByReason)}`,
    );
  });
});
