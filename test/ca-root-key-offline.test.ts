import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { access, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runDevice } from '../agent-sim/device-agent.ts';
import { caFileNames } from '../certs/certificate-authority.ts';
import { createAccountAndRequest, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { newSimulatedDevice } from './support/simulated-device.ts';

/**
 * Issue 12 §2: the running platform uses the issuing CA only. A fresh data directory still gets
 * a root and an issuing CA (so `npm start` works), but the root key goes to ca/offline/ with one
 * line telling the operator to move it off the machine, and start-up never reads it.
 */

const directories: string[] = [];
async function temporaryDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'provisio-root-offline-'));
  directories.push(directory);
  return directory;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

async function provisionBothWays(fixture: TestPlatform, prefix: string): Promise<void> {
  for (const useCsr of [true, false]) {
    const request = await createAccountAndRequest(fixture, `${prefix}-${useCsr ? 'csr' : 'generated'}`);
    const result = await runDevice(await newSimulatedDevice(fixture, request, { 'use-csr': useCsr, timeout: 15_000 }));
    assert.equal(result.status, 'online', result.status === 'failed' ? result.reason : result.status);
    if (result.status === 'online') await result.accountClient.endAsync();
  }
}

describe('the root CA key stays offline', () => {
  after(() => Promise.all(directories.splice(0).map((directory) => rm(directory, { recursive: true, force: true }))));

  it('Should write the root key apart on first start, say once to move it, and run and provision without it', { timeout: 60_000 }, async () => {
    const dataDir = await temporaryDirectory();
    const first = await startTestPlatform({ dataDir });
    const offlineKey = join(dataDir, 'ca', caFileNames.rootKey);
    try {
      assert.equal((await stat(offlineKey)).mode & 0o777, 0o600);
      assert.equal((await stat(join(dataDir, 'ca', 'offline'))).mode & 0o777, 0o700);
      assert.equal(await exists(join(dataDir, 'ca', caFileNames.legacyRootKey)), false, 'no root key beside the issuing key');
      const lines = first
        .logText()
        .split('\n')
        .filter((line) => line.includes('move it off this machine'));
      assert.equal(lines.length, 1, first.logText());
      assert.ok(lines[0]!.includes(offlineKey));
    } finally {
      await first.close();
    }

    // The operator takes it away.
    const away = join(await temporaryDirectory(), 'root-ca.key.pem');
    await rename(offlineKey, away);
    const second = await startTestPlatform({ dataDir });
    try {
      assert.equal(second.rootPem, first.rootPem, 'the same root');
      assert.doesNotMatch(second.logText(), /root CA key is still on this machine/);
      await provisionBothWays(second, 'offline');
    } finally {
      await second.close();
    }
  });

  it('Should move the root key of an earlier version out of the CA directory without reading it', { timeout: 60_000 }, async () => {
    const dataDir = await temporaryDirectory();
    const first = await startTestPlatform({ dataDir });
    await first.close();
    // The layout of versions before issue 12, with a key no parser would accept: reading it would fail.
    await rm(join(dataDir, 'ca', caFileNames.rootKey));
    const legacy = join(dataDir, 'ca', caFileNames.legacyRootKey);
    await writeFile(legacy, 'not a key: the platform must not read this file\n', { mode: 0o600 });
    const second = await startTestPlatform({ dataDir });
    try {
      assert.equal(await exists(legacy), false);
      assert.equal(await readFile(join(dataDir, 'ca', caFileNames.rootKey), 'utf8'), 'not a key: the platform must not read this file\n');
      assert.match(second.logText(), /moved the root CA key out of the CA directory/);
      assert.ok(new X509Certificate(second.rootPem).ca);
      await provisionBothWays(second, 'legacy');
    } finally {
      await second.close();
    }
  });
});
