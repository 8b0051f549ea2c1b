import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectTls } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { caFileNames } from '../certs/certificate-authority.ts';
import { distinctFreePorts } from '../dev-support/ports.ts';
import { ChainVerifier } from '../protocol/chain-verifier.ts';
import { runPlatformCommand } from './support/platform-command.ts';
import { connackOf, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { connectAccount, provisionOverMqtt, type WireProvisioned } from './support/wire-provisioning.ts';

/**
 * Issue 14 §3, "a CA rollover completes with the fleet online" (docs/OPERATIONS.md, "Roll the
 * issuing CA over"): a fleet of agent-sim devices provisioned under issuing CA 1 stays online;
 * the operator rolls the issuing CA over (`npm run ca -- issue-intermediate`, as a process, on
 * the platform's data directory) and restarts the platform; the devices come back to the account
 * broker with their CA 1 certificates, are told to renew (POST /api/v1/certificate-renewals) and
 * end on certificates of CA 2 that chain to the same root. Nobody is refused at any point: not by
 * the account broker (its log), not as agent-sim sees it (its summary). A device still on CA 1 is
 * accepted during the overlap and refused once revoked; once no valid certificate of CA 1 is left,
 * CA 1 is retired (its file taken out of ca/retired/) and the renewed fleet still connects.
 */
const fleetSize = 30;
const agentTimings = ['--timeout', '5000', '--retry-interval', '300'];

interface FleetSummary {
  readonly provisioned: number;
  readonly renewals: {
    readonly renewed: number;
    readonly refused: number;
    readonly reconnects: number;
    readonly reprovisioned: number;
    readonly devicesShort: number;
    readonly failuresByReason: Record<string, number>;
  };
}

interface CertificateView {
  readonly serial: string;
  readonly clientId: string;
  readonly pem: string;
  readonly status: 'VALID' | 'REVOKED';
  readonly revocationReason: string | null;
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

/** A TAP comment saying where the test is (a hang then shows its step). */
function step(what: string, startedAt: number): void {
  process.stdout.write(`# ${((Date.now() - startedAt) / 1000).toFixed(1)} s: ${what}\n`);
}

/** Waits for `condition`, checking every 200 ms, at most `timeoutMs`. */
async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The account broker's refusals in a platform's log (pino JSON lines): refused CONNECTs and refused TLS handshakes. */
function refusalsIn(logText: string): { clientId?: string; msg: string; code?: string; reason?: string }[] {
  return logText
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { component?: string; clientId?: string; msg: string; code?: string; reason?: string })
    .filter((entry) => entry.component === 'account-broker' && (entry.msg === 'CONNECT refused' || entry.msg.startsWith('TLS handshake refused')));
}

/** Every certificate of the account, through the admin API. */
async function certificatesOf(fixture: TestPlatform, accountId: string): Promise<CertificateView[]> {
  const page = await fixture.api<{ items: CertificateView[]; total: number }>('GET', `/certificates?accountId=${accountId}&limit=1000`);
  assert.equal(page.status, 200);
  assert.equal(page.body.items.length, page.body.total);
  return page.body.items;
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

/**
 * Mutual TLS to the account broker with `device`'s pair and nothing more: whether the handshake
 * completed on the client's side (with TLS 1.3 the client finishes before the server judged its
 * certificate) and how the connection ended. The broker destroys a refused handshake's socket.
 */
function tlsAttemptOf(port: number, rootPem: string, device: Pick<WireProvisioned, 'certPem' | 'keyPem'>): Promise<{ closedBy: string }> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({ host: '127.0.0.1', port, servername: 'localhost', ca: rootPem, cert: device.certPem, key: device.keyPem });
    let error: Error | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('the broker neither refused nor closed the connection within 10 s'));
    }, 10_000);
    socket.on('error', (cause) => (error = cause));
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ closedBy: error?.message ?? 'the broker' });
    });
  });
}

const issuedBy = (pem: string, issuing: X509Certificate): boolean => {
  const certificate = new X509Certificate(pem);
  return certificate.checkIssued(issuing) && certificate.verify(issuing.publicKey);
};

describe('Issuing CA rollover while the fleet stays online and renews', () => {
  let workDir: string;
  let dataDir: string;
  let fixture: TestPlatform | undefined;
  let fleet: ReturnType<typeof startAgent> | undefined;

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'provisio-ca-rollover-'));
    dataDir = join(workDir, 'platform');
  });
  after(async () => {
    fleet?.kill();
    await fixture?.close();
    await rm(workDir, { recursive: true, force: true });
  });

  it(
    `Should move ${fleetSize} online devices from issuing CA 1 to issuing CA 2 through renewal, none refused, then retire CA 1`,
    { timeout: 300_000 },
    async () => {
      const testStartedAt = Date.now();
      const [provisionMqttsPort = 0, accountMqttsPort = 0, httpPort = 0] = await distinctFreePorts(3);
      // Certificates of an hour: no device renews on its own during the test; renew now moves them.
      const settings = { dataDir, provisionMqttsPort, accountMqttsPort, httpPort, deviceCertValiditySeconds: 3600 };
      const accountUrl = `mqtts://localhost:${accountMqttsPort}`;
      const logs: string[] = [];
      fixture = await startTestPlatform(settings);
      const rootPem = fixture.rootPem;
      const ca1 = new X509Certificate(fixture.platform.ca.issuingCertificatePem);
      const signing1 = new X509Certificate(fixture.platform.ca.signingCredentials.certPem);

      step('platform up under CA 1', testStartedAt);
      // --- The fleet, provisioned under CA 1, staying online until it has renewed once.
      const account = await fixture.api<{ id: string }>('POST', '/accounts', { name: 'rollover' });
      assert.equal(account.status, 201);
      const accountId = account.body.id;
      const requests = Array.from({ length: fleetSize }, (_, i) => ({ accountId, clientId: `roll-${String(i).padStart(3, '0')}` }));
      const csv = await fetch(`${fixture.apiUrl}/provision-requests/batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${fixture.adminToken}`, accept: 'text/csv', 'content-type': 'application/json' },
        body: JSON.stringify({ requests }),
      });
      assert.equal(csv.status, 201);
      await writeFile(join(workDir, 'fleet.csv'), await csv.text());
      await writeFile(join(workDir, 'root-ca.pem'), rootPem);
      const stateRoot = join(workDir, 'devices');
      const fleetStartedAt = Date.now();
      fleet = startAgent([
        'fleet',
        ...['--credentials', join(workDir, 'fleet.csv'), '--root-ca', join(workDir, 'root-ca.pem')],
        ...['--broker-url', `mqtts://localhost:${provisionMqttsPort}`, '--state-root', stateRoot, '--concurrency', '15'],
        ...['--stay-online', '240', '--renewals', '1', '--json'],
        ...agentTimings,
      ]);

      step('fleet started', testStartedAt);
      // A device that stays on CA 1 (it never renews): plain mqtt.js, PROTOCOL.md §2–§9.
      const holdoutRequest = await fixture.api<{ credentials: { username: string; password: string } }>('POST', '/provision-requests', {
        accountId,
        clientId: 'holdout',
      });
      assert.equal(holdoutRequest.status, 201);
      const holdout: WireProvisioned = await provisionOverMqtt({
        provisionUrl: `mqtts://localhost:${provisionMqttsPort}`,
        rootPem,
        clientId: 'holdout',
        ...holdoutRequest.body.credentials,
        requestId: 'holdout-1',
      });
      assert.ok(issuedBy(holdout.certPem, ca1));

      step('holdout provisioned', testStartedAt);
      await until(`${fleetSize} births under CA 1`, async () => (await birthsSince(fixture!, fleetStartedAt)).size >= fleetSize, 120_000);
      const onlineBefore = (await certificatesOf(fixture, accountId)).filter((certificate) => certificate.clientId !== 'holdout');
      assert.equal(onlineBefore.length, fleetSize);
      assert.ok(
        onlineBefore.every((certificate) => issuedBy(certificate.pem, ca1)),
        'the fleet was provisioned under CA 1',
      );

      step('fleet online under CA 1', testStartedAt);
      // --- The rollover: stop, issue-intermediate (the root key is in its default offline place here), start.
      await fixture.close();
      logs.push(fixture.logText());
      fixture = undefined;
      const rolled = await runPlatformCommand('ca', ['issue-intermediate'], { PROVISIO_DATA_DIR: dataDir });
      assert.equal(rolled.status, 0, rolled.stderr);
      // `ca status` shows CA 1 retired, and the leaves the next start reissues under CA 2.
      const statusAfterRollover = await runPlatformCommand('ca', ['status'], { PROVISIO_DATA_DIR: dataDir });
      assert.equal(statusAfterRollover.status, 0, statusAfterRollover.stderr);
      assert.match(statusAfterRollover.stdout, new RegExp(`retired .*\\n.*sha256 ${ca1.fingerprint256}`));
      assert.match(statusAfterRollover.stdout, /signing .*\n.*sha256 .*\n.*reissued at the next start of each process: not issued by the current issuing CA/);
      step('issuing CA rolled over', testStartedAt);
      const restartedAt = Date.now();
      fixture = await startTestPlatform(settings);
      const ca = fixture.platform.ca;
      const ca2 = new X509Certificate(ca.issuingCertificatePem);
      assert.notEqual(ca2.fingerprint256, ca1.fingerprint256, 'a new issuing CA');
      assert.equal(fixture.rootPem, rootPem, 'the same root');
      assert.ok(new X509Certificate(ca.signingCredentials.certPem).checkIssued(ca2), 'the message-signing certificate was reissued under CA 2');
      assert.notEqual(new X509Certificate(ca.signingCredentials.certPem).fingerprint256, signing1.fingerprint256);

      const statusAfterRestart = await runPlatformCommand('ca', ['status'], { PROVISIO_DATA_DIR: dataDir });
      assert.doesNotMatch(statusAfterRestart.stdout, /reissued at the next start/, statusAfterRestart.stdout);
      step('platform restarted under CA 2', testStartedAt);
      // The fleet comes back on its CA 1 certificates: the account broker trusts CA 1 and CA 2 at once.
      await until(`${fleetSize} devices back after the restart`, async () => (await birthsSince(fixture!, restartedAt)).size >= fleetSize, 60_000);
      assert.equal(
        await connackOf(connectAccount(accountUrl, rootPem, 'holdout', holdout)),
        0,
        'a CA 1 certificate opens the account broker after the rollover',
      );

      step('fleet back on CA 1 certificates', testStartedAt);
      // --- Renew now: every online device of the account renews, and gets CA 2.
      const told = await fixture.api<{ devicesTold: number }>('POST', '/certificate-renewals', { accountId, withinSeconds: 5, reason: 'issuing CA rollover' });
      assert.equal(told.status, 202, JSON.stringify(told.body));
      assert.equal(told.body.devicesTold, fleetSize);
      // Each device renews within seconds; SIGINT after 90 s makes a stuck fleet print its summary instead of hanging the test.
      const stop = setTimeout(() => fleet?.interrupt(), 90_000);
      const exitCode = await fleet.exited;
      clearTimeout(stop);
      step('fleet exited', testStartedAt);
      const summary = JSON.parse(fleet.output().trim().split('\n').pop() ?? '{}') as FleetSummary;
      assert.equal(exitCode, 0, `${fleet.output()}\n${fleet.errors()}`);
      assert.equal(summary.provisioned, fleetSize);
      assert.equal(summary.renewals.renewed, fleetSize, JSON.stringify(summary.renewals));
      assert.equal(summary.renewals.refused, 0, `refused as agent-sim saw it: ${JSON.stringify(summary.renewals.failuresByReason)}`);
      assert.equal(summary.renewals.reprovisioned, 0);
      assert.equal(summary.renewals.devicesShort, 0);
      assert.ok(summary.renewals.reconnects >= fleetSize, 'every device was online across the restart and came back');

      // What each device holds: its current pair issued by CA 2, the chain it stored (CA 2, root), verifiable against its root.
      const verifier = new ChainVerifier();
      const deviceDirectories = (await readdir(stateRoot, { withFileTypes: true })).filter((entry) => entry.isDirectory() && entry.name.startsWith('roll-'));
      assert.equal(deviceDirectories.length, fleetSize);
      for (const entry of deviceDirectories) {
        const directory = join(stateRoot, entry.name);
        const current = JSON.parse(await readFile(join(directory, 'current.json'), 'utf8')) as { pair: string; previous?: unknown };
        assert.equal(current.previous, undefined, `${entry.name} confirmed its new pair`);
        const certPem = await readFile(join(directory, `${current.pair}.pem`), 'utf8');
        const chain = (await readFile(join(directory, 'chain.pem'), 'utf8')).split(/(?<=-----END CERTIFICATE-----\n?)/).filter((pem) => pem.trim() !== '');
        assert.ok(issuedBy(certPem, ca2), `${entry.name} is on CA 2`);
        assert.equal(new X509Certificate(chain[0] ?? '').fingerprint256, ca2.fingerprint256, `${entry.name} stored the new chain`);
        const check = verifier.check(certPem, chain, rootPem);
        assert.ok(check.ok, check.ok ? '' : `${entry.name}: ${check.reason}`);
        assert.ok(issuedBy(await readFile(join(directory, 'signing.pem'), 'utf8'), ca2), `${entry.name} stored the signing certificate of CA 2`);
      }

      // The platform's record: one CA 1 certificate per device, superseded (revoked) once its CA 2 one connected.
      const certificates = (await certificatesOf(fixture, accountId)).filter((certificate) => certificate.clientId !== 'holdout');
      assert.equal(certificates.length, 2 * fleetSize, 'one renewal each, nothing issued twice');
      for (const certificate of certificates) {
        if (issuedBy(certificate.pem, ca1)) {
          assert.equal(certificate.status, 'REVOKED', certificate.clientId);
          assert.match(certificate.revocationReason ?? '', /^superseded/, certificate.clientId);
        } else assert.ok(issuedBy(certificate.pem, ca2) && certificate.status === 'VALID', certificate.clientId);
      }

      // A device still on CA 1 is refused once revoked, though CA 1 is still trusted (the store, not the issuer, decides).
      const revoked = await fixture.api('POST', `/certificates/${holdout.serial}/revoke`, { reason: 'keyCompromise' });
      assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
      assert.equal(await connackOf(connectAccount(accountUrl, rootPem, 'holdout', holdout)), 5, 'a revoked CA 1 certificate is refused');

      step('holdout revoked and refused', testStartedAt);
      // Nobody of the fleet was refused by the account broker, before or after the rollover.
      await fixture.close();
      logs.push(fixture.logText());
      fixture = undefined;
      const refusals = logs.flatMap(refusalsIn);
      assert.deepEqual(
        refusals.filter((entry) => entry.clientId !== 'holdout'),
        [],
        'the fleet was never refused',
      );
      assert.deepEqual(
        refusals.map((entry) => [entry.clientId, entry.code]),
        [['holdout', 'CERTIFICATE_REVOKED']],
        'the one refusal is the revoked CA 1 certificate',
      );

      step('logs checked', testStartedAt);
      // --- Retiring CA 1: safe once no VALID certificate of it is left (the holdout's is revoked).
      fixture = await startTestPlatform(settings);
      const valid = (await certificatesOf(fixture, accountId)).filter((certificate) => certificate.status === 'VALID');
      assert.equal(valid.length, fleetSize);
      assert.ok(
        valid.every((certificate) => !issuedBy(certificate.pem, ca1)),
        'no valid certificate of CA 1 is left',
      );
      await fixture.close();
      fixture = undefined;
      const retiredDirectory = join(dataDir, 'ca', 'retired');
      // The certificate, and the key kept to sign CA 1's CRL (docs/OPERATIONS.md step 7: archive the one, destroy the other).
      const retiredFile = `issuing-ca.${ca1.serialNumber.toLowerCase()}.cert.pem`;
      const retiredKeyFile = `issuing-ca.${ca1.serialNumber.toLowerCase()}.key.pem`;
      assert.deepEqual((await readdir(retiredDirectory)).sort(), [retiredFile, retiredKeyFile]);
      await mkdir(join(workDir, 'ca-archive'));
      await rename(join(retiredDirectory, retiredFile), join(workDir, 'ca-archive', retiredFile));
      await rm(join(retiredDirectory, retiredKeyFile));
      step('CA 1 retired', testStartedAt);
      fixture = await startTestPlatform(settings);
      assert.equal(fixture.platform.ca.clientCaPems.length, 2, 'CA 2 and the root only');
      assert.equal(await readFile(join(dataDir, 'ca', caFileNames.issuingCert), 'utf8'), ca2.toString());
      // A renewed device still connects; a CA 1 certificate is now refused by TLS already.
      const first = deviceDirectories[0]!.name;
      const current = JSON.parse(await readFile(join(stateRoot, first, 'current.json'), 'utf8')) as { pair: string };
      const renewedPair = {
        certPem: await readFile(join(stateRoot, first, `${current.pair}.pem`), 'utf8'),
        keyPem: await readFile(join(stateRoot, first, `${current.pair}.key`), 'utf8'),
      };
      assert.equal(await connackOf(connectAccount(accountUrl, rootPem, first, renewedPair)), 0, 'a CA 2 certificate after CA 1 was retired');
      const attempt = await tlsAttemptOf(accountMqttsPort, rootPem, holdout);
      const tlsRefusals = refusalsIn(fixture.logText()).filter((entry) => entry.msg.startsWith('TLS handshake refused'));
      assert.equal(tlsRefusals.length, 1, `a CA 1 certificate is refused by the TLS handshake (${attempt.closedBy})`);
      step(`CA 1 certificate: the client saw ${attempt.closedBy}, the broker logged ${tlsRefusals[0]?.reason ?? 'nothing'}`, testStartedAt);
      await fixture.close();
      fixture = undefined;
    },
  );
});
