import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { runDevice } from '../agent-sim/device-agent.ts';
import { createCa } from '../certs/ca-commands.ts';
import { caFileNames } from '../certs/certificate-authority.ts';
import { loadConfig, type PlatformConfig } from '../config/config.ts';
import { PlatformError } from '../errors/platform-error.ts';
import { createLogger } from '../log/logger.ts';
import { startPlatform } from '../platform/platform.ts';
import { secretsFileOf } from '../platform/platform-secrets.ts';
import { readSecretsFile } from '../platform/secrets-file.ts';
import { createAccountAndRequest, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { runPlatformCommand } from './support/platform-command.ts';
import { foundIn } from './support/secret-search.ts';
import { newSimulatedDevice } from './support/simulated-device.ts';
import { openTestCa, silentLog } from './support/ca-test-kit.ts';

/**
 * Issue 12 §2: with PROVISIO_CA_KEY_PASSPHRASE (or _FILE) every private key the platform writes
 * is encrypted PKCS#8 and the secrets file is sealed; a missing or wrong passphrase stops start-up
 * with CA_MATERIAL_INVALID naming the file, never the passphrase.
 */
const passphrase = 'correct horse battery staple 2024';
const wrongPassphrase = 'not the passphrase, 0123456789';
const keyFiles = [caFileNames.issuingKey, caFileNames.serverKey, caFileNames.signingKey, caFileNames.rootKey];

const directories: string[] = [];
async function temporaryDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'provisio-passphrase-'));
  directories.push(directory);
  return directory;
}

async function provisionOne(fixture: TestPlatform, clientId: string): Promise<void> {
  const request = await createAccountAndRequest(fixture, clientId);
  const result = await runDevice(await newSimulatedDevice(fixture, request, { 'use-csr': false, timeout: 15_000 }));
  assert.equal(result.status, 'online', result.status === 'failed' ? result.reason : result.status);
  if (result.status === 'online') await result.accountClient.endAsync();
}

/** Starts a platform expecting it to refuse; answers the error and everything it logged. */
async function refusedStart(overrides: Partial<PlatformConfig>): Promise<{ error: PlatformError; logText: string }> {
  const lines: string[] = [];
  const log = createLogger('trace', new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()) }));
  const config = loadConfig(
    {},
    {
      bindHost: '127.0.0.1',
      provisionMqttPort: 0,
      provisionMqttsPort: 0,
      accountMqttsPort: 0,
      httpPort: 0,
      discoveryPort: 0,
      adminToken: 'test-admin-token-0123456789abcdef',
      ...overrides,
    },
  );
  try {
    const platform = await startPlatform(config, log);
    await platform.close();
  } catch (error) {
    assert.ok(error instanceof PlatformError, String(error));
    return { error, logText: lines.join('') };
  }
  assert.fail('the platform started');
}

describe('CA key passphrase', () => {
  after(() => Promise.all(directories.splice(0).map((directory) => rm(directory, { recursive: true, force: true }))));

  it('Should write every key encrypted and the secrets file sealed, and start again with the passphrase', { timeout: 60_000 }, async () => {
    const dataDir = await temporaryDirectory();
    const first = await startTestPlatform({ dataDir, caKeyPassphrase: passphrase });
    try {
      await provisionOne(first, 'sealed-1');
    } finally {
      await first.close();
    }
    for (const name of keyFiles) {
      const pem = await readFile(join(dataDir, 'ca', name), 'utf8');
      assert.match(pem, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/, name);
      assert.throws(() => createPrivateKey(pem), name);
      assert.equal(createPrivateKey({ key: pem, format: 'pem', passphrase }).type, 'private', name);
    }
    const file = secretsFileOf(first.config);
    const text = await readFile(file);
    assert.ok(JSON.parse(text.toString()).sealed, 'the secrets file is sealed');
    const loaded = await readSecretsFile(file, passphrase);
    for (const secret of [loaded!.document.deviceKey.current, loaded!.document.bundleToken.current]) assert.deepEqual(foundIn(text, secret), []);
    assert.ok(!first.logText().includes(passphrase), 'the passphrase is not logged');

    const again = await startTestPlatform({ dataDir, caKeyPassphrase: passphrase });
    try {
      await provisionOne(again, 'sealed-2');
    } finally {
      await again.close();
    }
  });

  it('Should not start without the passphrase or with a wrong one: CA_MATERIAL_INVALID naming the file, not the passphrase', { timeout: 60_000 }, async () => {
    const dataDir = await temporaryDirectory();
    const fixture = await startTestPlatform({ dataDir, caKeyPassphrase: passphrase });
    await fixture.close();
    const missing = await refusedStart({ dataDir });
    assert.equal(missing.error.code, 'CA_MATERIAL_INVALID');
    assert.match(
      missing.error.message,
      /issuing-ca\.key\.pem is encrypted and no passphrase was given \(PROVISIO_CA_KEY_PASSPHRASE or PROVISIO_CA_KEY_PASSPHRASE_FILE\)/,
    );
    const wrong = await refusedStart({ dataDir, caKeyPassphrase: wrongPassphrase });
    assert.equal(wrong.error.code, 'CA_MATERIAL_INVALID');
    assert.match(wrong.error.message, /issuing-ca\.key\.pem cannot be decrypted with the passphrase given .*: wrong passphrase/);
    for (const refused of [missing, wrong]) {
      const said = `${refused.error.message}\n${String(refused.error.cause ?? '')}\n${refused.logText}`;
      assert.ok(!said.includes(passphrase) && !said.includes(wrongPassphrase), 'no passphrase in the error or the log');
    }
  });

  it('Should read the passphrase from PROVISIO_CA_KEY_PASSPHRASE_FILE, and refuse both settings at once', { timeout: 60_000 }, async () => {
    const dataDir = await temporaryDirectory();
    const passphraseFile = join(await temporaryDirectory(), 'passphrase');
    await writeFile(passphraseFile, `${passphrase}\n`, { mode: 0o600 });
    const fromFile = await startTestPlatform({ dataDir, caKeyPassphraseFile: passphraseFile });
    await fromFile.close();
    // Written with the file's passphrase: the same one given directly opens it.
    const direct = await startTestPlatform({ dataDir, caKeyPassphrase: passphrase });
    await direct.close();
    const both = await refusedStart({ dataDir, caKeyPassphrase: passphrase, caKeyPassphraseFile: passphraseFile });
    assert.equal(both.error.code, 'CONFIG_INVALID');
    assert.match(both.error.message, /PROVISIO_CA_KEY_PASSPHRASE and PROVISIO_CA_KEY_PASSPHRASE_FILE: set one of them, not both/);
    const short = join(await temporaryDirectory(), 'short');
    await writeFile(short, 'short\n');
    assert.equal((await refusedStart({ dataDir, caKeyPassphraseFile: short })).error.code, 'CONFIG_INVALID');
  });

  it('Should encrypt the keys and seal the secrets of a platform first run without a passphrase, keeping their values', { timeout: 60_000 }, async () => {
    const dataDir = await temporaryDirectory();
    const plain = await startTestPlatform({ dataDir });
    await plain.close();
    assert.match(await readFile(join(dataDir, 'ca', caFileNames.issuingKey), 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
    const before = await readSecretsFile(secretsFileOf(plain.config), undefined);
    const sealed = await startTestPlatform({ dataDir, caKeyPassphrase: passphrase });
    try {
      assert.equal(sealed.rootPem, plain.rootPem);
      await provisionOne(sealed, 'upgraded-1');
    } finally {
      await sealed.close();
    }
    for (const name of [caFileNames.issuingKey, caFileNames.serverKey, caFileNames.signingKey]) {
      assert.match(await readFile(join(dataDir, 'ca', name), 'utf8'), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/, name);
    }
    const after = await readSecretsFile(secretsFileOf(plain.config), passphrase);
    assert.equal(after?.sealed, true);
    assert.ok(after?.document.deviceKey.current.equals(before!.document.deviceKey.current), 'same device-key secret');
    assert.ok(after?.document.bundleToken.current.equals(before!.document.bundleToken.current), 'same bundle-token secret');
  });

  it(
    'Should change the passphrase as docs/OPERATIONS.md says: keys decrypted, secrets resealed, the next start encrypts with the new one',
    { timeout: 60_000 },
    async () => {
      const dataDir = await temporaryDirectory();
      const first = await startTestPlatform({ dataDir, caKeyPassphrase: passphrase });
      await first.close();
      const before = await readSecretsFile(secretsFileOf(first.config), passphrase);
      const newPassphrase = 'a new passphrase, just as random 77';
      // What `openssl pkcs8 -in … -passin …` does for each key.
      for (const name of [caFileNames.issuingKey, caFileNames.serverKey, caFileNames.signingKey]) {
        const file = join(dataDir, 'ca', name);
        const key = createPrivateKey({ key: await readFile(file, 'utf8'), format: 'pem', passphrase });
        await writeFile(file, key.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      }
      const oldPassphraseFile = join(await temporaryDirectory(), 'old');
      await writeFile(oldPassphraseFile, `${passphrase}\n`);
      const resealed = await runPlatformCommand('secrets', ['reseal', '--old-passphrase-file', oldPassphraseFile], {
        PROVISIO_DATA_DIR: dataDir,
        PROVISIO_CA_KEY_PASSPHRASE: newPassphrase,
      });
      assert.equal(resealed.status, 0, resealed.stderr);
      const after = await readSecretsFile(secretsFileOf(first.config), newPassphrase);
      assert.ok(after?.sealed && after.document.deviceKey.current.equals(before!.document.deviceKey.current), 'same secrets, sealed with the new passphrase');
      await assert.rejects(readSecretsFile(secretsFileOf(first.config), passphrase), /wrong passphrase/);

      const again = await startTestPlatform({ dataDir, caKeyPassphrase: newPassphrase });
      try {
        await provisionOne(again, 'new-passphrase-1');
      } finally {
        await again.close();
      }
      const issuingKey = await readFile(join(dataDir, 'ca', caFileNames.issuingKey), 'utf8');
      assert.match(issuingKey, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
      assert.equal(createPrivateKey({ key: issuingKey, format: 'pem', passphrase: newPassphrase }).type, 'private');
    },
  );

  it('Should open an operator CA whose issuing key is encrypted with the passphrase', async () => {
    const operatorDir = await temporaryDirectory();
    await createCa({ dataDir: operatorDir, keyAlgorithm: 'ec', passphrase, log: silentLog });
    const operatorCa = {
      rootCertFile: join(operatorDir, 'ca', caFileNames.rootCert),
      issuingCertFile: join(operatorDir, 'ca', caFileNames.issuingCert),
      issuingKeyFile: join(operatorDir, 'ca', caFileNames.issuingKey),
    };
    const ca = await openTestCa(await temporaryDirectory(), { operatorCa, keyPassphrase: passphrase });
    assert.ok(ca.operatorSupplied);
    await assert.rejects(
      openTestCa(await temporaryDirectory(), { operatorCa }),
      (error: unknown) => error instanceof PlatformError && error.code === 'CA_MATERIAL_INVALID',
    );
  });
});
