import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { access, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { caFileNames } from '../certs/certificate-authority.ts';
import { runPlatformCommand } from './support/platform-command.ts';
import { startTestPlatform } from './support/platform-fixture.ts';

/**
 * Issue 14 §3, a new root (docs/OPERATIONS.md, "Roll the root over"): `npm run ca -- new-root` and
 * `retire-root` as processes, with the root keys kept off the data directory and a passphrase.
 * Root 2's key is handled like root 1's: written where the operator says (or ca/offline/),
 * encrypted with the passphrase, mode 0600, never read by the platform. The fleet side is
 * test/root-rollover.test.ts.
 */
const directories: string[] = [];
async function temporaryDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'provisio-root-commands-'));
  directories.push(directory);
  return directory;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

const passphrase = 'a passphrase of the root rollover test';

describe('npm run ca -- new-root | retire-root', () => {
  after(() => Promise.all(directories.splice(0).map((directory) => rm(directory, { recursive: true, force: true }))));

  it('Should make root 2 with its key encrypted where the operator says, refuse a second rollover, and retire root 1', { timeout: 120_000 }, async () => {
    const dataDir = await temporaryDirectory();
    const media = await temporaryDirectory();
    const env = { PROVISIO_DATA_DIR: dataDir, PROVISIO_CA_KEY_PASSPHRASE: passphrase };
    const root1KeyFile = join(media, 'root-ca.key.pem');
    const root2KeyFile = join(media, 'root-2.key.pem');
    const created = await runPlatformCommand('ca', ['create', '--root-key-out', root1KeyFile], env);
    assert.equal(created.status, 0, created.stderr);
    const ca = join(dataDir, 'ca');
    const root1 = new X509Certificate(await readFile(join(ca, caFileNames.rootCert), 'utf8'));

    // Root 1's key is offline: new-root needs it back to sign the cross certificate.
    const withoutKey = await runPlatformCommand('ca', ['new-root'], env);
    assert.equal(withoutKey.status, 1);
    assert.match(withoutKey.stderr, /root-ca\.key\.pem does not exist: bring the root key back/);
    const wrongPassphrase = await runPlatformCommand('ca', ['new-root', '--root-key', root1KeyFile], {
      ...env,
      PROVISIO_CA_KEY_PASSPHRASE: 'another passphrase, not the one',
    });
    assert.equal(wrongPassphrase.status, 1);
    assert.match(wrongPassphrase.stderr, /cannot be decrypted with the passphrase given/);
    assert.equal(await exists(join(ca, caFileNames.nextRootCert)), false, 'nothing written by a refused run');

    const made = await runPlatformCommand('ca', ['new-root', '--root-key', root1KeyFile, '--root-key-out', root2KeyFile], env);
    assert.equal(made.status, 0, made.stderr);
    assert.match(made.stdout, /next root key .*root-2\.key\.pem \(encrypted\)/);
    const root2 = new X509Certificate(await readFile(join(ca, caFileNames.nextRootCert), 'utf8'));
    const root2KeyText = await readFile(root2KeyFile, 'utf8');
    assert.match(root2KeyText, /BEGIN ENCRYPTED PRIVATE KEY/);
    assert.equal((await stat(root2KeyFile)).mode & 0o777, 0o600);
    assert.ok(createPublicKey(createPrivateKey({ key: root2KeyText, passphrase })).equals(root2.publicKey), "root 2's key, under the passphrase");
    assert.equal(await exists(join(ca, caFileNames.nextRootKey)), false, 'no root key in the data directory');
    assert.ok(root2.ca && root2.checkIssued(root2) && root2.verify(root2.publicKey), 'root 2 is self-signed');
    const lifetimeDays = (Date.parse(root2.validTo) - Date.parse(root2.validFrom)) / 86_400_000;
    assert.ok(lifetimeDays > 3650 && lifetimeDays < 3654, `10 years (${lifetimeDays} days)`);
    const cross = new X509Certificate(await readFile(join(ca, caFileNames.nextRootCross), 'utf8'));
    assert.ok(cross.checkIssued(root1) && cross.verify(root1.publicKey) && cross.subject === root2.subject && cross.publicKey.equals(root2.publicKey));
    const status = await runPlatformCommand('ca', ['status'], env);
    assert.match(status.stdout, /root rollover under way/);
    assert.match(status.stdout, /root key {5}not in the data directory \(offline\)/);

    const again = await runPlatformCommand('ca', ['new-root', '--root-key', root1KeyFile], env);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /a root rollover is under way/);

    // During the rollover issue-intermediate signs with root 2's key.
    const withRoot1Key = await runPlatformCommand('ca', ['issue-intermediate', '--root-key', root1KeyFile], env);
    assert.equal(withRoot1Key.status, 1);
    assert.match(withRoot1Key.stderr, /is not the key of the root O=provisio, CN=provisio root CA/);
    const rolled = await runPlatformCommand('ca', ['issue-intermediate', '--root-key', root2KeyFile], env);
    assert.equal(rolled.status, 0, rolled.stderr);
    const issuing = new X509Certificate(await readFile(join(ca, caFileNames.issuingCert), 'utf8'));
    assert.ok(issuing.checkIssued(root2) && issuing.verify(root2.publicKey));

    // The platform starts on it (with the passphrase): root 1 stays the root devices hold, root 2 is beside it.
    const fixture = await startTestPlatform({ dataDir, caKeyPassphrase: passphrase });
    try {
      assert.equal(fixture.rootPem, root1.toString());
      assert.equal(fixture.platform.ca.nextRoot?.certificatePem, root2.toString());
      assert.equal(fixture.platform.ca.chainPems.length, 3);
    } finally {
      await fixture.close();
    }

    const retired = await runPlatformCommand('ca', ['retire-root'], env);
    assert.equal(retired.status, 0, retired.stderr);
    assert.equal(new X509Certificate(await readFile(join(ca, caFileNames.rootCert), 'utf8')).fingerprint256, root2.fingerprint256);
    const kept = await readdir(join(ca, 'retired-roots'));
    assert.ok(kept.includes(`root-ca.${root1.serialNumber.toLowerCase()}.cert.pem`), kept.join(' '));
    // The retired issuing CA root 1 signed (the one new-root replaced) went with it, its key beside it; the one of root 2 stays.
    assert.equal(kept.filter((name) => /^issuing-ca\..*\.(cert|key)\.pem$/.test(name)).length, 2, kept.join(' '));
    assert.match(retired.stdout, /issuing-ca\.[0-9a-f]+\.key\.pem: no longer needed, destroy it/);
    assert.deepEqual(
      (await readdir(join(ca, 'retired'))).filter((name) => name.endsWith('.cert.pem')).length,
      1,
      'the issuing CA of root 2 that issue-intermediate replaced is still trusted',
    );
    const statusAfter = await runPlatformCommand('ca', ['status'], env);
    assert.match(statusAfter.stdout, new RegExp(`retired root .*\\n.*sha256 ${root1.fingerprint256}`));
    assert.doesNotMatch(statusAfter.stdout, /root rollover under way/);
    const twice = await runPlatformCommand('ca', ['retire-root'], env);
    assert.equal(twice.status, 1);
    assert.match(twice.stderr, /no root rollover under way/);

    const after = await startTestPlatform({ dataDir, caKeyPassphrase: passphrase });
    try {
      assert.equal(after.rootPem, root2.toString());
      assert.equal(after.platform.ca.nextRoot, null);
      assert.deepEqual(after.platform.ca.chainPems, [issuing.toString(), root2.toString()]);
      assert.doesNotMatch(after.logText(), /not trusted any more/, "root 1's retired issuing CAs were moved, not left to be refused at each start");
    } finally {
      await after.close();
    }
  });
});
