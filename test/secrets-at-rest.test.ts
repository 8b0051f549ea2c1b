import assert from 'node:assert/strict';
import { createPublicKey, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { runDevice } from '../agent-sim/device-agent.ts';
import { BundleDownloadTokens, bundleDownloadUrl } from '../api/bundle-download-tokens.ts';
import { loadConfig, type PlatformConfig } from '../config/config.ts';
import { legacySecretSettings, secretsFileOf } from '../platform/platform-secrets.ts';
import { readSecretsFile } from '../platform/secrets-file.ts';
import { deriveDeviceKey } from '../provisioner/device-key-derivation.ts';
import { openStore } from '../store/open-store.ts';
import { createAccountAndRequest, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { requireRedisOrSkip, startRedisOrSkip, type RedisServer } from '../dev-support/redis-server.ts';
import { foundIn, redisSnapshotBytes, sqliteBytes } from './support/secret-search.ts';
import { newSimulatedDevice } from './support/simulated-device.ts';

/**
 * Issue 12 §2: a copy of the store (the SQLite file, a Redis snapshot) holds neither the secret
 * that derives the keys of devices without a CSR nor the one that signs bundle download links;
 * a store written by an earlier version gives them up to the secrets file, same values.
 */

const directories: string[] = [];
async function temporaryDataDir(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'provisio-secrets-'));
  directories.push(directory);
  return directory;
}

/** Provisions one device that lets the platform make its key; answers its key PEM and request. */
async function provisionWithGeneratedKey(fixture: TestPlatform, clientId: string): Promise<{ keyPem: string; provisionRequestId: string }> {
  const request = await createAccountAndRequest(fixture, clientId);
  const state = await newSimulatedDevice(fixture, request, { 'use-csr': false, timeout: 15_000 });
  const result = await runDevice(state);
  assert.equal(result.status, 'online', result.status === 'failed' ? result.reason : result.status);
  if (result.status === 'online') await result.accountClient.endAsync();
  return { keyPem: await readFile(join(state.directory, 'client.key'), 'utf8'), provisionRequestId: request.id };
}

async function secretValues(config: PlatformConfig): Promise<Buffer[]> {
  const loaded = await readSecretsFile(secretsFileOf(config), undefined);
  assert.ok(loaded, 'the secrets file exists');
  return [loaded.document.deviceKey, loaded.document.bundleToken].flatMap((ring) => [ring.current, ...ring.previous.map((retired) => retired.value)]);
}

for (const backend of ['sqlite', 'redis'] as const) {
  describe(`secrets at rest, ${backend} store`, () => {
    let redis: RedisServer | null = null;
    before(async () => {
      if (backend === 'redis') redis = await startRedisOrSkip();
    });
    after(async () => {
      await redis?.stop();
      await Promise.all(directories.splice(0).map((directory) => rm(directory, { recursive: true, force: true })));
    });

    function storeSettings(): Partial<PlatformConfig> {
      return backend === 'redis' ? { storeBackend: 'redis', redisUrl: (redis as RedisServer).url, redisKeyPrefix: `secrets-at-rest:${randomUUID()}:` } : {};
    }
    function usable(t: TestContext): boolean {
      return backend === 'sqlite' || requireRedisOrSkip(t, redis);
    }
    async function storeBytes(dataDir: string): Promise<Buffer> {
      return backend === 'sqlite' ? sqliteBytes(dataDir) : redisSnapshotBytes((redis as RedisServer).url);
    }

    it('Should keep both secrets out of the store, in a 0600 file of a 0700 directory', { timeout: 60_000 }, async (t) => {
      if (!usable(t)) return;
      const dataDir = await temporaryDataDir();
      const fixture = await startTestPlatform({ dataDir, ...storeSettings() });
      try {
        await provisionWithGeneratedKey(fixture, 'at-rest-1');
        for (const name of Object.values(legacySecretSettings)) assert.equal(await fixture.platform.store.getSetting(name), null, name);
      } finally {
        await fixture.close();
      }
      const values = await secretValues(fixture.config);
      assert.equal(values.length, 2);
      const bytes = await storeBytes(dataDir);
      assert.ok(bytes.length > 1000, 'the copy holds the store');
      for (const value of values) assert.deepEqual(foundIn(bytes, value), []);
      const file = secretsFileOf(fixture.config);
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      assert.equal((await stat(dirname(file))).mode & 0o777, 0o700);
    });

    it('Should move the secrets of an earlier version out of the store, keeping their values', { timeout: 60_000 }, async (t) => {
      if (!usable(t)) return;
      const dataDir = await temporaryDataDir();
      const settings = storeSettings();
      // What the earlier version left: both secrets as store settings, in clear.
      const legacyDeviceKey = randomBytes(32);
      const legacyBundleToken = randomBytes(32);
      const earlier = await openStore(loadConfig({}, { dataDir, ...settings }));
      await earlier.setSettingIfAbsent(legacySecretSettings.deviceKey, legacyDeviceKey.toString('base64url'));
      await earlier.setSettingIfAbsent(legacySecretSettings.bundleToken, legacyBundleToken.toString('base64url'));
      await earlier.close();
      const before = await storeBytes(dataDir);
      assert.ok(foundIn(before, legacyDeviceKey).includes('base64url'), 'the search finds them where they are');
      assert.ok(foundIn(before, legacyBundleToken).includes('base64url'));

      const fixture = await startTestPlatform({ dataDir, ...settings });
      try {
        assert.match(fixture.logText(), /moved a secret out of the store into the secrets file/);
        for (const name of Object.values(legacySecretSettings)) assert.equal(await fixture.platform.store.getSetting(name), null, name);
        const loaded = await readSecretsFile(secretsFileOf(fixture.config), undefined);
        assert.ok(loaded?.document.deviceKey.current.equals(legacyDeviceKey), 'the same device-key secret');
        assert.ok(loaded?.document.bundleToken.current.equals(legacyBundleToken), 'the same bundle-token secret');

        // The key of a device without a CSR is derived from the same secret as before.
        const device = await provisionWithGeneratedKey(fixture, 'migrated-1');
        const request = await fixture.platform.store.getProvisionRequest(device.provisionRequestId);
        const expected = deriveDeviceKey(legacyDeviceKey, device.provisionRequestId, request?.currentRequestId as string);
        assert.equal(
          createPublicKey(device.keyPem).export({ type: 'spki', format: 'der' }).toString('hex'),
          createPublicKey(expected).export({ type: 'spki', format: 'der' }).toString('hex'),
        );

        // A link the earlier version handed out (signed with its secret) still opens.
        const accountId = (await fixture.api<{ items: { id: string }[] }>('GET', '/accounts')).body.items[0]!.id;
        const upload = await fetch(`${fixture.apiUrl}/bundles?accountId=${accountId}&name=org.example.kept&version=1.0.0`, {
          method: 'POST',
          headers: { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/octet-stream' },
          body: Buffer.from('bundle bytes'),
        });
        assert.equal(upload.status, 201);
        const bundle = (await upload.json()) as { id: string };
        const earlierLink = new BundleDownloadTokens(legacyBundleToken).create({ bundleId: bundle.id, clientId: 'migrated-1', ttlSeconds: 300 });
        const download = await fetch(bundleDownloadUrl(`http://127.0.0.1:${fixture.platform.http.port}`, bundle.id, earlierLink));
        assert.equal(download.status, 200);
      } finally {
        await fixture.close();
      }
      const afterMove = await storeBytes(dataDir);
      assert.deepEqual(foundIn(afterMove, legacyDeviceKey), [], 'the device-key secret left the store');
      assert.deepEqual(foundIn(afterMove, legacyBundleToken), [], 'the bundle-token secret left the store');

      const again = await startTestPlatform({ dataDir, ...settings });
      try {
        assert.doesNotMatch(again.logText(), /moved a secret out of the store/, 'nothing left to move');
      } finally {
        await again.close();
      }
    });
  });
}
