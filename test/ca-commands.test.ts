import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { access, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runDevice } from '../agent-sim/device-agent.ts';
import { caFileNames } from '../certs/certificate-authority.ts';
import { ChainVerifier } from '../protocol/chain-verifier.ts';
import { createAccountAndRequest, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { runPlatformCommand } from './support/platform-command.ts';
import { freePort } from '../dev-support/ports.ts';
import { newSimulatedDevice } from './support/simulated-device.ts';

/**
 * Issue 12 §2: creating a CA and rolling the issuing CA over are explicit commands
 * (`npm run ca -- create | issue-intermediate`, docs/OPERATIONS.md), run here as processes.
 */
const directories: string[] = [];
async function temporaryDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'provisio-ca-command-'));
  directories.push(directory);
  return directory;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

function firstCertificate(pem: string): X509Certificate {
  return new X509Certificate(pem.split(/(?<=-----END CERTIFICATE-----\n)/)[0] as string);
}

describe('npm run ca', () => {
  after(() => Promise.all(directories.splice(0).map((directory) => rm(directory, { recursive: true, force: true }))));

  it('Should create a CA with its root key where the operator says, refuse a second one, and the platform runs on it', { timeout: 60_000 }, async () => {
    const dataDir = await temporaryDirectory();
    const rootKeyOut = join(await temporaryDirectory(), 'root-ca.key.pem');
    const created = await runPlatformCommand('ca', ['create', '--root-key-out', rootKeyOut], { PROVISIO_DATA_DIR: dataDir });
    assert.equal(created.status, 0, created.stderr);
    assert.match(created.stdout, /Move the root key off this machine now/);
    assert.equal((await stat(rootKeyOut)).mode & 0o777, 0o600);
    assert.equal(await exists(join(dataDir, 'ca', caFileNames.rootKey)), false, 'no root key in the data directory');
    const rootPem = await readFile(join(dataDir, 'ca', caFileNames.rootCert), 'utf8');

    const again = await runPlatformCommand('ca', ['create'], { PROVISIO_DATA_DIR: dataDir });
    assert.equal(again.status, 1);
    assert.match(again.stderr, /CA_MATERIAL_INVALID: .*root-ca\.cert\.pem exists: this data directory already has a CA/);
    assert.equal(await readFile(join(dataDir, 'ca', caFileNames.rootCert), 'utf8'), rootPem, 'the CA is untouched');

    const fixture = await startTestPlatform({ dataDir });
    try {
      assert.equal(fixture.rootPem, new X509Certificate(rootPem).toString());
    } finally {
      await fixture.close();
    }
    const status = await runPlatformCommand('ca', ['status'], { PROVISIO_DATA_DIR: dataDir });
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /root key {5}not in the data directory \(offline\)/);
    assert.doesNotMatch(status.stdout, /days left/, 'fresh 730-day certificates are not due under the default 60 days');
    // The status counts with the margin the processes use (PROVISIO_PLATFORM_CERT_RENEWAL_DAYS).
    const wideMargin = await runPlatformCommand('ca', ['status'], { PROVISIO_DATA_DIR: dataDir, PROVISIO_PLATFORM_CERT_RENEWAL_DAYS: '1000' });
    assert.equal(wideMargin.status, 0, wideMargin.stderr);
    assert.match(wideMargin.stdout, /fewer than 1000 days left/);
  });

  it(
    'Should roll the issuing CA over: devices provisioned after it chain to the same root, devices provisioned before keep working',
    { timeout: 120_000 },
    async () => {
      const dataDir = await temporaryDirectory();
      const accountMqttsPort = await freePort();
      let fixture: TestPlatform = await startTestPlatform({ dataDir, accountMqttsPort });
      const oldIssuingPem = fixture.platform.ca.issuingCertificatePem;
      const rootPem = fixture.rootPem;
      let before;
      try {
        const request = await createAccountAndRequest(fixture, 'before-rollover');
        before = await newSimulatedDevice(fixture, request, { timeout: 15_000 });
        const result = await runDevice(before);
        assert.equal(result.status, 'online', result.status === 'failed' ? result.reason : result.status);
        if (result.status === 'online') await result.accountClient.endAsync();
      } finally {
        await fixture.close();
      }

      // The root key was taken offline; the operator brings it back for the rollover.
      const rootKey = join(await temporaryDirectory(), 'root-ca.key.pem');
      await rename(join(dataDir, 'ca', caFileNames.rootKey), rootKey);
      const withoutKey = await runPlatformCommand('ca', ['issue-intermediate'], { PROVISIO_DATA_DIR: dataDir });
      assert.equal(withoutKey.status, 1);
      assert.match(withoutKey.stderr, /root-ca\.key\.pem does not exist: bring the root key back/);
      const rolled = await runPlatformCommand('ca', ['issue-intermediate', '--root-key', rootKey], { PROVISIO_DATA_DIR: dataDir });
      assert.equal(rolled.status, 0, rolled.stderr);
      assert.match(rolled.stdout, /Restart every platform process/);

      fixture = await startTestPlatform({ dataDir, accountMqttsPort });
      try {
        const newIssuingPem = fixture.platform.ca.issuingCertificatePem;
        assert.equal(fixture.rootPem, rootPem, 'the same root');
        assert.notEqual(newIssuingPem, oldIssuingPem, 'a new issuing CA');
        const newIssuing = new X509Certificate(newIssuingPem);
        assert.ok(firstCertificate(fixture.platform.ca.serverCredentials.certPem).checkIssued(newIssuing), 'server certificate reissued under it');
        assert.ok(new X509Certificate(fixture.platform.ca.signingCredentials.certPem).checkIssued(newIssuing), 'signing certificate reissued under it');

        // A device provisioned now: agent-sim checks the chain it receives against the root it was built with.
        const request = await createAccountAndRequest(fixture, 'after-rollover');
        const afterState = await newSimulatedDevice(fixture, request, { 'use-csr': false, timeout: 15_000 });
        const result = await runDevice(afterState);
        assert.equal(result.status, 'online', result.status === 'failed' ? result.reason : result.status);
        if (result.status === 'online') await result.accountClient.endAsync();
        const deviceCertificate = await readFile(join(afterState.directory, 'client.pem'), 'utf8');
        assert.ok(new X509Certificate(deviceCertificate).checkIssued(newIssuing));
        const check = new ChainVerifier().check(deviceCertificate, [newIssuingPem], rootPem);
        assert.ok(check.ok, check.ok ? '' : check.reason);

        // The device provisioned before, restarted: its certificate (old issuing CA) still opens the account broker.
        const restarted = await runDevice(before);
        assert.equal(restarted.status, 'online', restarted.status === 'failed' ? restarted.reason : restarted.status);
        if (restarted.status === 'online') await restarted.accountClient.endAsync();
      } finally {
        await fixture.close();
      }
    },
  );
});
