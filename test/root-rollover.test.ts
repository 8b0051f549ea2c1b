import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { access, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectTls } from 'node:tls';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { runDevice } from '../agent-sim/device-agent.ts';
import type { DeviceState } from '../agent-sim/device-state.ts';
import { caFileNames } from '../certs/certificate-authority.ts';
import { distinctFreePorts } from '../dev-support/ports.ts';
import { ChainVerifier } from '../protocol/chain-verifier.ts';
import { runPlatformCommand } from './support/platform-command.ts';
import { createAccountAndRequest, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { newSimulatedDevice } from './support/simulated-device.ts';

/**
 * Issue 14 §3, "a new root" (docs/OPERATIONS.md, "Roll the root over"; PROTOCOL.md §7, "A new
 * root"): a fleet of agent-sim devices that hold only root 1 stays online while the operator runs
 * `npm run ca -- new-root` (as a process, on the platform's data directory) and restarts the
 * platform. The devices come back through the cross certificate the brokers now send, are told to
 * renew, learn root 2 from their renewal result (it goes into their state directory) and end on
 * certificates of the issuing CA under root 2. A device provisioned then with only root 1 from the
 * factory verifies everything through the cross certificate, and learns root 2 as well. Then
 * `retire-root`: root 2 is the root, root 1 is gone from the platform, and the devices that
 * learnt root 2 reconnect and renew again. Nobody is refused at any point.
 */
const fleetSize = 10;
const agentTimings = ['--timeout', '5000', '--retry-interval', '300'];

interface FleetSummary {
  readonly provisioned: number;
  readonly renewals: {
    readonly renewed: number;
    readonly refused: number;
    readonly reconnects: number;
    readonly reprovisioned: number;
    readonly rootsLearnt: number;
    readonly devicesShort: number;
    readonly failuresByReason: Record<string, number>;
  };
}

/** `agent-sim` as a child process, killed if the test process exits first. */
function startAgent(args: readonly string[]) {
  const child = spawn(process.execPath, [new URL('../agent-sim/bin.js', import.meta.url).pathname, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const kill = (): void => void child.kill('SIGKILL');
  process.once('exit', kill);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      process.removeListener('exit', kill);
      resolve(code);
    }),
  );
  return { exited, output: () => stdout, errors: () => stderr, kill, interrupt: (): void => void child.kill('SIGINT') };
}

function step(what: string, startedAt: number): void {
  process.stdout.write(`# ${((Date.now() - startedAt) / 1000).toFixed(1)} s: ${what}\n`);
}

async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** The account broker's refusals in a platform's log: refused CONNECTs and refused TLS handshakes. */
function refusalsIn(logText: string): { clientId?: string; msg: string }[] {
  return logText
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { component?: string; clientId?: string; msg: string })
    .filter((entry) => entry.component === 'account-broker' && (entry.msg === 'CONNECT refused' || entry.msg.startsWith('TLS handshake refused')));
}

/** clientIds whose birth the platform recorded at or after `since`. */
async function birthsSince(fixture: TestPlatform, since: number): Promise<Set<string>> {
  const page = await fixture.api<{ items: { clientId: string | null }[] }>(
    'GET',
    `/audit-events?type=device.birth&startDate=${encodeURIComponent(new Date(since).toISOString())}&limit=1000`,
  );
  assert.equal(page.status, 200);
  return new Set(page.body.items.map((event) => event.clientId ?? ''));
}

const issuedBy = (pem: string, issuer: X509Certificate): boolean => {
  const certificate = new X509Certificate(pem);
  return certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey);
};

const fingerprintOf = (pem: string): string => createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');

/** The certificates of a PEM file, each as node prints it (to compare with the platform's). */
const certificatesIn = (pem: string): string[] =>
  pem
    .split(/(?<=-----END CERTIFICATE-----)/)
    .filter((block) => block.includes('BEGIN'))
    .map((block) => new X509Certificate(block).toString());

/** What a device's state directory holds: its current certificate, the chain it stored, the roots it learnt. */
async function deviceFlash(directory: string): Promise<{ certPem: string; chain: string[]; learntRoots: string[] }> {
  const current = (await exists(join(directory, 'current.json')))
    ? (JSON.parse(await readFile(join(directory, 'current.json'), 'utf8')) as { pair: string })
    : { pair: 'client' };
  const learnt = join(directory, 'learnt-roots.pem');
  return {
    certPem: await readFile(join(directory, `${current.pair}.pem`), 'utf8'),
    chain: certificatesIn(await readFile(join(directory, 'chain.pem'), 'utf8')),
    learntRoots: (await exists(learnt)) ? certificatesIn(await readFile(learnt, 'utf8')) : [],
  };
}

/** Whether a TLS client that trusts only `rootPem` accepts the provision broker's certificate chain. */
function provisionBrokerTrusted(port: number, rootPem: string): Promise<boolean | string> {
  return new Promise((resolve) => {
    const socket = connectTls({ host: '127.0.0.1', port, servername: 'localhost', ca: rootPem }, () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', (error) => resolve(error.message));
  });
}

describe('Root rollover while the fleet stays online and renews', () => {
  let workDir: string;
  let dataDir: string;
  let fixture: TestPlatform | undefined;
  let fleet: ReturnType<typeof startAgent> | undefined;

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'provisio-root-rollover-'));
    dataDir = join(workDir, 'platform');
  });
  after(async () => {
    fleet?.kill();
    await fixture?.close();
    await rm(workDir, { recursive: true, force: true });
  });

  it(`Should move ${fleetSize} online devices from root 1 to root 2 through renewal, none refused, then retire root 1`, { timeout: 300_000 }, async () => {
    const startedAt = Date.now();
    const [provisionMqttsPort = 0, accountMqttsPort = 0, httpPort = 0] = await distinctFreePorts(3);
    // Certificates of an hour: no device renews on its own during the test; renew now moves them.
    const settings = { dataDir, provisionMqttsPort, accountMqttsPort, httpPort, deviceCertValiditySeconds: 3600 };
    const logs: string[] = [];
    const restart = async (): Promise<TestPlatform> => {
      if (fixture) {
        await fixture.close();
        logs.push(fixture.logText());
      }
      fixture = undefined;
      return startTestPlatform(settings);
    };
    fixture = await startTestPlatform(settings);
    const root1Pem = fixture.rootPem;
    const root1 = new X509Certificate(root1Pem);

    // --- The fleet, provisioned under root 1, holding only root 1, staying online until it has renewed twice.
    const account = await fixture.api<{ id: string }>('POST', '/accounts', { name: 'root-rollover' });
    assert.equal(account.status, 201);
    const accountId = account.body.id;
    const requests = Array.from({ length: fleetSize }, (_, i) => ({ accountId, clientId: `rr-${String(i).padStart(3, '0')}` }));
    const csv = await fetch(`${fixture.apiUrl}/provision-requests/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fixture.adminToken}`, accept: 'text/csv', 'content-type': 'application/json' },
      body: JSON.stringify({ requests }),
    });
    assert.equal(csv.status, 201);
    await writeFile(join(workDir, 'fleet.csv'), await csv.text());
    await writeFile(join(workDir, 'root-ca.pem'), root1Pem);
    const stateRoot = join(workDir, 'devices');
    const fleetStartedAt = Date.now();
    fleet = startAgent([
      'fleet',
      ...['--credentials', join(workDir, 'fleet.csv'), '--root-ca', join(workDir, 'root-ca.pem')],
      ...['--broker-url', `mqtts://localhost:${provisionMqttsPort}`, '--state-root', stateRoot, '--concurrency', '10'],
      ...['--stay-online', '240', '--renewals', '2', '--json'],
      ...agentTimings,
    ]);
    await until(`${fleetSize} births under root 1`, async () => (await birthsSince(fixture!, fleetStartedAt)).size >= fleetSize, 120_000);
    const deviceDirectories = requests.map((request) => join(stateRoot, request.clientId));
    step('fleet online under root 1', startedAt);

    // --- new-root: root 2, the cross certificate, an issuing CA under root 2 (the root key is in its default offline place here).
    await fixture.close();
    logs.push(fixture.logText());
    fixture = undefined;
    const made = await runPlatformCommand('ca', ['new-root'], { PROVISIO_DATA_DIR: dataDir });
    assert.equal(made.status, 0, made.stderr);
    assert.match(made.stdout, /root rollover started/);
    const ca = join(dataDir, 'ca');
    assert.equal((await stat(join(ca, caFileNames.nextRootKey))).mode & 0o777, 0o600, "root 2's key is handled like root 1's");
    const status = await runPlatformCommand('ca', ['status'], { PROVISIO_DATA_DIR: dataDir });
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /next root .*\n.*\n {2}cross .*\n.*\n.*root rollover under way/);
    const root2Pem = new X509Certificate(await readFile(join(ca, caFileNames.nextRootCert), 'utf8')).toString();
    const root2 = new X509Certificate(root2Pem);
    const crossPem = new X509Certificate(await readFile(join(ca, caFileNames.nextRootCross), 'utf8')).toString();
    const cross = new X509Certificate(crossPem);
    assert.equal(cross.subject, root2.subject);
    assert.ok(cross.publicKey.equals(root2.publicKey), 'the cross certificate carries root 2 and its key');
    assert.ok(cross.ca && issuedBy(crossPem, root1), 'signed by root 1, CA:true');
    assert.ok(new Date(cross.validTo).getTime() <= new Date(root1.validTo).getTime(), "within root 1's validity");
    assert.equal(root2.publicKey.asymmetricKeyType, root1.publicKey.asymmetricKeyType, 'the same key algorithm');

    fixture = await startTestPlatform(settings);
    const restartedAt = Date.now();
    const ca2 = fixture.platform.ca;
    const issuing2 = new X509Certificate(ca2.issuingCertificatePem);
    assert.equal(fixture.rootPem, root1Pem, 'root 1 stays the root devices hold');
    assert.ok(issuedBy(ca2.issuingCertificatePem, root2), 'the issuing CA in use is root 2’s');
    assert.deepEqual(ca2.nextRoot, { certificatePem: root2Pem, crossCertificatePem: crossPem });
    assert.deepEqual(ca2.chainPems, [ca2.issuingCertificatePem, crossPem, root1Pem], 'replies chain up to root 1 through the cross certificate');
    assert.ok(ca2.clientCaPems.includes(root1Pem) && ca2.clientCaPems.includes(root2Pem), 'the account broker trusts both roots');
    assert.ok(issuedBy(ca2.signingCredentials.certPem, issuing2), 'the signing certificate was reissued under the new issuing CA');
    // The chain walks: [issuing 2, cross] reaches root 1, [issuing 2, root 2] and [issuing 2, cross] reach root 2.
    const verifier = new ChainVerifier();
    for (const [chain, rootPem, label] of [
      [[ca2.issuingCertificatePem, crossPem], root1Pem, '[issuing 2, cross] against root 1'],
      [[ca2.issuingCertificatePem, root2Pem], root2Pem, '[issuing 2, root 2] against root 2'],
      [[ca2.issuingCertificatePem, crossPem], root2Pem, '[issuing 2, cross] against root 2'],
    ] as const) {
      const check = verifier.check(ca2.signingCredentials.certPem, chain, rootPem);
      assert.ok(check.ok, `${label}: ${check.ok ? '' : check.reason}`);
    }
    assert.notEqual(
      (verifier.check(ca2.signingCredentials.certPem, [ca2.issuingCertificatePem], root1Pem) as { ok: boolean }).ok,
      true,
      'without the cross certificate root 1 is not reached',
    );
    // Both brokers' TLS chains reach either root: root 1 through the cross certificate.
    assert.equal(await provisionBrokerTrusted(provisionMqttsPort, root1Pem), true);
    assert.equal(await provisionBrokerTrusted(provisionMqttsPort, root2Pem), true);
    step('platform restarted with root 2 beside root 1', startedAt);

    // The fleet comes back on its certificates of root 1, checking the brokers' new chain against root 1 alone.
    await until(`${fleetSize} devices back after new-root`, async () => (await birthsSince(fixture!, restartedAt)).size >= fleetSize, 60_000);
    for (const directory of deviceDirectories) assert.deepEqual((await deviceFlash(directory)).learntRoots, [], 'nothing learnt yet');

    // --- Renew now: each device renews, learns root 2 from its renewal result and gets a certificate of issuing CA 2.
    const told = await fixture.api<{ devicesTold: number }>('POST', '/certificate-renewals', { accountId, withinSeconds: 3, reason: 'root rollover' });
    assert.equal(told.status, 202, JSON.stringify(told.body));
    assert.equal(told.body.devicesTold, fleetSize);
    await until(
      'every device learnt root 2 and holds a certificate of issuing CA 2',
      async () => {
        for (const directory of deviceDirectories) {
          const flash = await deviceFlash(directory).catch(() => null);
          if (!flash || flash.learntRoots[0] !== root2Pem || !issuedBy(flash.certPem, issuing2)) return false;
        }
        return true;
      },
      60_000,
    );
    for (const directory of deviceDirectories) {
      const flash = await deviceFlash(directory);
      assert.deepEqual(flash.learntRoots, [root2Pem], `${directory}: root 2, once`);
      assert.deepEqual(flash.chain, [ca2.issuingCertificatePem, crossPem, root1Pem], `${directory} stored the chain through the cross certificate`);
    }
    // Each device says at its birth which roots it holds: the operator counts those that know root 2.
    const renewedAt = Date.now();
    await until(
      'every device reported root 2 at a birth',
      async () => {
        const known = await fixture!.api<{ total: number }>('GET', `/devices?accountId=${accountId}&trustsRoot=${fingerprintOf(root2Pem)}&limit=1`);
        return known.status === 200 && known.body.total === fleetSize;
      },
      30_000,
    );
    step(`fleet renewed under issuing CA 2 and knows root 2 (${Date.now() - renewedAt} ms to count it)`, startedAt);

    // --- A device provisioned now, with only root 1 from the factory: everything verifies through the cross certificate, and it learns root 2.
    const request = await createAccountAndRequest(fixture, 'rr-late', { account: 'root-rollover' });
    const late: DeviceState = await newSimulatedDevice(fixture, request, { timeout: 15_000 });
    assert.equal(await late.trustedRoot(), root1Pem);
    const lateRun = await runDevice(late);
    assert.equal(lateRun.status, 'online', lateRun.status === 'failed' ? lateRun.reason : lateRun.status);
    if (lateRun.status === 'online') await lateRun.accountClient.endAsync();
    const lateFlash = await deviceFlash(late.directory);
    assert.ok(issuedBy(lateFlash.certPem, issuing2), 'provisioned under issuing CA 2');
    assert.deepEqual(lateFlash.learntRoots, [root2Pem], 'it learnt root 2 from its provision result');
    step('a root-1-only device provisioned through the cross certificate', startedAt);

    // --- retire-root: root 2 becomes the root; root 1 and the cross certificate are kept for the record.
    await fixture.close();
    logs.push(fixture.logText());
    fixture = undefined;
    const retired = await runPlatformCommand('ca', ['retire-root'], { PROVISIO_DATA_DIR: dataDir });
    assert.equal(retired.status, 0, retired.stderr);
    assert.equal(await readFile(join(ca, caFileNames.rootCert), 'utf8'), root2Pem);
    assert.equal(await exists(join(ca, caFileNames.nextRootCert)), false);
    assert.equal(await exists(join(ca, caFileNames.nextRootCross)), false);
    const retiredRoots = await readdir(join(ca, 'retired-roots'));
    const serial1 = root1.serialNumber.toLowerCase();
    assert.ok(retiredRoots.includes(`root-ca.${serial1}.cert.pem`) && retiredRoots.includes(`root-ca.${serial1}.cross.cert.pem`), retiredRoots.join(' '));
    const offlineRootKey = createPrivateKey(await readFile(join(ca, caFileNames.rootKey), 'utf8'));
    assert.ok(createPublicKey(offlineRootKey).equals(root2.publicKey), "root 2's key took the root key's place");
    assert.match(retired.stdout, new RegExp(`root-ca\\.${serial1}\\.key\\.pem: no longer needed, destroy it`));

    fixture = await restart();
    const retiredAt = Date.now();
    const ca3 = fixture.platform.ca;
    assert.equal(fixture.rootPem, root2Pem, 'root 2 is the root');
    assert.equal(ca3.nextRoot, null);
    assert.ok(!ca3.clientCaPems.includes(root1Pem), 'root 1 is gone from the platform');
    assert.deepEqual(ca3.chainPems, [ca2.issuingCertificatePem, root2Pem]);
    assert.notEqual(await provisionBrokerTrusted(provisionMqttsPort, root1Pem), true, 'a device that holds only root 1 is no longer served');
    step('root 1 retired', startedAt);

    // The devices that learnt root 2 come back (the brokers' chain ends at root 2 now) and renew again, checking replies against root 2.
    await until(`${fleetSize} devices back after retire-root`, async () => (await birthsSince(fixture!, retiredAt)).size >= fleetSize, 60_000);
    const toldAgain = await fixture.api<{ devicesTold: number }>('POST', '/certificate-renewals', { accountId, withinSeconds: 3, reason: 'after retire-root' });
    assert.equal(toldAgain.status, 202, JSON.stringify(toldAgain.body));
    // Each device leaves after its second renewal; SIGINT after 90 s makes a stuck fleet print its summary instead of hanging.
    const stop = setTimeout(() => fleet?.interrupt(), 90_000);
    const exitCode = await fleet.exited;
    clearTimeout(stop);
    const summary = JSON.parse(fleet.output().trim().split('\n').pop() ?? '{}') as FleetSummary;
    assert.equal(exitCode, 0, `${fleet.output()}\n${fleet.errors()}`);
    assert.equal(summary.provisioned, fleetSize);
    assert.equal(summary.renewals.renewed, 2 * fleetSize, JSON.stringify(summary.renewals));
    assert.equal(summary.renewals.rootsLearnt, fleetSize);
    assert.equal(summary.renewals.refused, 0, `refused as agent-sim saw it: ${JSON.stringify(summary.renewals.failuresByReason)}`);
    assert.equal(summary.renewals.reprovisioned, 0);
    assert.equal(summary.renewals.devicesShort, 0);
    assert.ok(summary.renewals.reconnects >= 2 * fleetSize, 'every device was online across both restarts and came back');
    for (const directory of deviceDirectories) {
      const flash = await deviceFlash(directory);
      assert.deepEqual(flash.chain, [ca2.issuingCertificatePem, root2Pem], `${directory} stored the chain of root 2`);
      const check = new ChainVerifier().check(flash.certPem, flash.chain, root2Pem);
      assert.ok(check.ok, check.ok ? '' : `${directory}: ${check.reason}`);
    }
    // The late device reconnects too, with root 2 learnt.
    const lateAgain = await runDevice(late);
    assert.equal(lateAgain.status, 'online', lateAgain.status === 'failed' ? lateAgain.reason : lateAgain.status);
    if (lateAgain.status === 'online') await lateAgain.accountClient.endAsync();

    // openssl verifies a device certificate against root 2 alone.
    const first = await deviceFlash(deviceDirectories[0]!);
    await writeFile(join(workDir, 'root-2.pem'), root2Pem);
    await writeFile(join(workDir, 'issuing-2.pem'), ca2.issuingCertificatePem);
    await writeFile(join(workDir, 'device.pem'), first.certPem);
    const verified = await promisify(execFile)('openssl', [
      'verify',
      ...['-CAfile', join(workDir, 'root-2.pem'), '-untrusted', join(workDir, 'issuing-2.pem')],
      join(workDir, 'device.pem'),
    ]);
    assert.match(verified.stdout, /device\.pem: OK/);

    // Nobody was refused by the account broker, under either root.
    await fixture.close();
    logs.push(fixture.logText());
    fixture = undefined;
    assert.deepEqual(logs.flatMap(refusalsIn), [], 'no CONNECT and no TLS handshake was refused');
    step('done', startedAt);
  });
});
