import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BundleDownloadTokens, bundleDownloadUrl } from '../api/bundle-download-tokens.ts';
import { openPlatformSecrets } from '../platform/platform-secrets.ts';
import { startApiFixture, type ApiFixture } from './support/api-fixture.ts';

const maxBytes = 64 * 1024;

describe('Admin API: bundles', () => {
  let fixture: ApiFixture;
  let accountId: string;
  let otherAccountId: string;

  before(async () => {
    fixture = await startApiFixture({ config: { bundleMaxBytes: maxBytes } });
    accountId = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'acme' } })).body.id;
    otherAccountId = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'globex' } })).body.id;
  });
  after(async () => {
    await fixture.close();
  });

  function upload(
    content: Uint8Array | ReadableStream,
    query = `accountId=${accountId}&name=org.example.heater&version=1.0.0`,
    headers: Record<string, string> = {},
  ) {
    return fetch(`${fixture.baseUrl}/api/v1/bundles?${query}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/octet-stream', ...headers },
      body: content,
      ...(content instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit);
  }

  const sha256 = (content: Uint8Array) => createHash('sha256').update(content).digest('hex');

  async function uploaded(content: Uint8Array, name = 'org.example.heater', version = '1.0.0') {
    const response = await upload(content, `accountId=${accountId}&name=${name}&version=${version}`);
    assert.equal(response.status, 201);
    return (await response.json()) as { id: string; sha256: string; size: number; name: string; version: string };
  }

  it('Should store an upload content-addressed under {dataDir}/bundles/{sha256}', async () => {
    const content = randomBytes(10_000);
    const bundle = await uploaded(content, 'org.example.store', '1.0.0');
    assert.equal(bundle.sha256, sha256(content));
    assert.equal(bundle.size, 10_000);
    assert.deepEqual(await readFile(join(fixture.config.dataDir, 'bundles', bundle.sha256)), content);
    const entries = await readdir(join(fixture.config.dataDir, 'bundles'));
    assert.ok(
      entries.every((name) => !name.startsWith('.upload-')),
      'no temporary file is left',
    );
  });

  it('Should check X-Content-SHA256 and keep nothing when it does not match', async () => {
    const content = randomBytes(1000);
    const wrong = await upload(content, `accountId=${accountId}&name=org.example.hash&version=1`, { 'x-content-sha256': sha256(randomBytes(8)) });
    assert.equal(wrong.status, 400);
    assert.equal(((await wrong.json()) as { code: string }).code, 'BUNDLE_HASH_MISMATCH');
    assert.ok(!(await fixture.bundleStorage.has(sha256(content))));
    const right = await upload(content, `accountId=${accountId}&name=org.example.hash&version=1`, { 'x-content-sha256': sha256(content).toUpperCase() });
    assert.equal(right.status, 201);
  });

  it('Should answer 413 for content over bundleMaxBytes, announced or streamed', async () => {
    const announced = await upload(randomBytes(maxBytes + 1));
    assert.equal(announced.status, 413);
    assert.equal(((await announced.json()) as { code: string }).code, 'PAYLOAD_TOO_LARGE');
    const chunks = [randomBytes(40_000), randomBytes(40_000)];
    const streamed = await upload(
      new ReadableStream({
        pull(controller) {
          const next = chunks.shift();
          if (next) controller.enqueue(next);
          else controller.close();
        },
      }),
    );
    assert.equal(streamed.status, 413);
    const entries = await readdir(join(fixture.config.dataDir, 'bundles'));
    assert.ok(
      entries.every((name) => !name.startsWith('.upload-')),
      'no temporary file is left',
    );
  });

  it('Should refuse uploads without name, version or a known account, and empty ones', async () => {
    assert.equal((await upload(randomBytes(10), `accountId=${accountId}&name=x`)).status, 400);
    assert.equal((await upload(randomBytes(10), `accountId=nope&name=x&version=1`)).status, 400);
    assert.equal((await upload(randomBytes(10), `accountId=${accountId}&name=bad name&version=1`)).status, 400);
    assert.equal((await upload(new Uint8Array(0))).status, 400);
  });

  it('Should list bundles of an account and show one', async () => {
    const bundle = await uploaded(randomBytes(100), 'org.example.list', '2.0.0');
    const list = await fixture.api('GET', `/api/v1/bundles?accountId=${accountId}`);
    assert.equal(list.status, 200);
    assert.ok(list.body.items.some((item: { id: string }) => item.id === bundle.id));
    assert.equal((await fixture.api('GET', '/api/v1/bundles')).status, 400, 'the admin names the account');
    const one = await fixture.api('GET', `/api/v1/bundles/${bundle.id}`);
    assert.deepEqual(one.body, bundle);
  });

  it('Should serve the content to a bearer token with Content-Length, ETag and X-Content-SHA256', async () => {
    const content = randomBytes(5000);
    const bundle = await uploaded(content, 'org.example.content', '1');
    const response = await fetch(`${fixture.baseUrl}/api/v1/bundles/${bundle.id}/content`, {
      headers: { authorization: `Bearer ${fixture.adminToken}` },
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-length'), '5000');
    assert.equal(response.headers.get('etag'), `"${bundle.sha256}"`);
    assert.equal(response.headers.get('x-content-sha256'), bundle.sha256);
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), content);
    assert.equal((await fetch(`${fixture.baseUrl}/api/v1/bundles/${bundle.id}/content`)).status, 401);
  });

  describe('device download with a signed token', () => {
    it('Should serve the bundle named in the token without a bearer token', async () => {
      const content = randomBytes(3000);
      const bundle = await uploaded(content, 'org.example.download', '1');
      const token = fixture.downloadTokens.create({ bundleId: bundle.id, clientId: 'dev-1', ttlSeconds: 60 });
      const response = await fetch(bundleDownloadUrl(`${fixture.baseUrl}/`, bundle.id, token));
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('x-content-sha256'), sha256(content));
      assert.deepEqual(Buffer.from(await response.arrayBuffer()), content);
      const notModified = await fetch(bundleDownloadUrl(fixture.baseUrl, bundle.id, token), {
        // fetch would add Cache-Control: no-cache to a conditional request, which forbids a 304.
        headers: { 'if-none-match': `"${bundle.sha256}"`, 'cache-control': 'max-age=0' },
      });
      assert.equal(notModified.status, 304);
      const audit = await fixture.api('GET', '/api/v1/audit-events?type=bundle.downloaded&clientId=dev-1');
      assert.ok(audit.body.total >= 1);
    });

    it('Should refuse a missing, forged, expired or other-bundle token with 403 BUNDLE_TOKEN_INVALID', async () => {
      const bundle = await uploaded(randomBytes(100), 'org.example.guarded', '1');
      const other = await uploaded(randomBytes(100), 'org.example.guarded', '2');
      const valid = fixture.downloadTokens.create({ bundleId: bundle.id, clientId: 'dev-2', ttlSeconds: 60 });
      const [expiry, , mac] = valid.split('.');
      const forged = `${expiry}.${Buffer.from('dev-3').toString('base64url')}.${mac}`;
      const pastTokens = new BundleDownloadTokens(
        (await openPlatformSecrets(fixture.config, fixture.store, fixture.log)).bundleToken,
        () => Date.now() - 3_600_000,
      );
      const expired = pastTokens.create({ bundleId: bundle.id, clientId: 'dev-2', ttlSeconds: 60 });
      const otherBundle = fixture.downloadTokens.create({ bundleId: other.id, clientId: 'dev-2', ttlSeconds: 60 });
      for (const token of [forged, expired, otherBundle, 'garbage', '']) {
        const response = await fetch(bundleDownloadUrl(fixture.baseUrl, bundle.id, token));
        const body = (await response.json()) as { code: string };
        assert.ok(response.status === 403 || (token === '' && response.status === 400), `${token}: ${response.status}`);
        if (response.status === 403) assert.equal(body.code, 'BUNDLE_TOKEN_INVALID');
      }
      assert.equal((await fetch(`${fixture.baseUrl}/api/v1/bundles/${bundle.id}/download`)).status, 400);
    });

    it('Should share the token secret through the secrets file, so every process accepts the tokens', async () => {
      const bundle = await uploaded(randomBytes(100), 'org.example.shared', '1');
      const elsewhere = new BundleDownloadTokens((await openPlatformSecrets(fixture.config, fixture.store, fixture.log)).bundleToken);
      const token = elsewhere.create({ bundleId: bundle.id, clientId: 'dev-4', ttlSeconds: 60 });
      assert.equal((await fetch(bundleDownloadUrl(fixture.baseUrl, bundle.id, token))).status, 200);
      assert.deepEqual(fixture.downloadTokens.verify(token, bundle.id).clientId, 'dev-4');
    });
  });

  it('Should keep bundles of other accounts out of account tokens, and delete bundles', async () => {
    const bundle = await uploaded(randomBytes(100), 'org.example.private', '1');
    const token = (await fixture.api('POST', '/api/v1/api-tokens', { body: { accountId: otherAccountId } })).body.token as string;
    assert.equal((await fixture.api('GET', `/api/v1/bundles/${bundle.id}`, { token })).status, 404);
    assert.equal((await fixture.api('DELETE', `/api/v1/bundles/${bundle.id}`, { token })).status, 404);
    const list = await fixture.api('GET', '/api/v1/bundles', { token });
    assert.equal(list.status, 200);
    assert.equal(list.body.total, 0);
    assert.equal((await fixture.api('DELETE', `/api/v1/bundles/${bundle.id}`)).status, 204);
    assert.equal((await fixture.api('GET', `/api/v1/bundles/${bundle.id}`)).status, 404);
  });
});
