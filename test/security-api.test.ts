import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { startApiFixture, type ApiFixture } from './support/api-fixture.ts';

/**
 * What test/api-auth.test.ts and test/api-problems.test.ts leave out: an account-scoped token
 * against another account's certificates, bundles, configurations and audit events; tokens that
 * are malformed in new ways; hostile ids in writes; bodies that are deep or wide rather than long.
 * API tokens have no expiry (they end with their account, test/api-auth.test.ts), so there is no
 * "expired token" case.
 */
describe('Admin API: tenants stay apart, hostile input stays data', () => {
  let fixture: ApiFixture;
  let ownId: string;
  let otherId: string;
  let token: string;
  let theirSerial: string;
  let theirBundleId: string;
  let theirConfigurationId: string;
  let theirRequestId: string;

  before(async () => {
    fixture = await startApiFixture();
    ownId = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'tenant-own' } })).body.id;
    otherId = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'tenant-other' } })).body.id;
    token = (await fixture.api('POST', '/api/v1/api-tokens', { body: { accountId: ownId } })).body.token;
    theirRequestId = (await fixture.api('POST', '/api/v1/provision-requests', { body: { accountId: otherId, clientId: 'their-dev' } })).body.id;
    theirSerial = 'abcdef0123';
    const now = Date.now();
    await fixture.store.recordCertificate({
      serial: theirSerial,
      accountId: otherId,
      clientId: 'their-dev',
      provisionRequestId: null,
      pem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
      notBefore: now,
      notAfter: now + 86_400_000,
    });
    const upload = await fetch(`${fixture.baseUrl}/api/v1/bundles?accountId=${otherId}&name=secret-app&version=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/octet-stream' },
      body: randomBytes(64),
    });
    theirBundleId = ((await upload.json()) as { id: string }).id;
    theirConfigurationId = (await fixture.api('POST', '/api/v1/configurations', { body: { accountId: otherId, name: 'theirs', content: { a: 1 } } })).body.id;
  });
  after(() => fixture.close());

  it("Should not show, list or revoke another account's certificate", async () => {
    assert.equal((await fixture.api('GET', `/api/v1/certificates/${theirSerial}`, { token })).status, 404);
    assert.equal((await fixture.api('POST', `/api/v1/certificates/${theirSerial}/revoke`, { token, body: { reason: 'x' } })).status, 404);
    const list = await fixture.api('GET', '/api/v1/certificates?clientId=their-dev', { token });
    assert.equal(list.status, 200);
    assert.equal(list.body.total, 0);
    assert.equal((await fixture.store.getCertificate(theirSerial))?.status, 'VALID');
  });

  it("Should not show, download, change or delete another account's bundle, nor upload into that account", async () => {
    assert.equal((await fixture.api('GET', `/api/v1/bundles/${theirBundleId}`, { token })).status, 404);
    assert.equal((await fixture.api('GET', `/api/v1/bundles/${theirBundleId}/content`, { token })).status, 404);
    const download = await fixture.api('GET', `/api/v1/bundles/${theirBundleId}/download`, { token });
    assert.ok([400, 403].includes(download.status), `a bearer token is no download token: ${download.status}`);
    assert.equal((await fixture.api('DELETE', `/api/v1/bundles/${theirBundleId}`, { token })).status, 404);
    const upload = await fetch(`${fixture.baseUrl}/api/v1/bundles?accountId=${otherId}&name=planted&version=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      body: randomBytes(16),
    });
    assert.equal(upload.status, 403);
    assert.equal((await fixture.api('GET', `/api/v1/bundles/${theirBundleId}`)).status, 200, 'still there');
  });

  it("Should not show, change or delete another account's configuration, nor attach it", async () => {
    assert.equal((await fixture.api('GET', `/api/v1/configurations/${theirConfigurationId}`, { token })).status, 404);
    assert.equal(
      (await fixture.api('PATCH', `/api/v1/configurations/${theirConfigurationId}`, { token, body: { version: 1, content: { mine: true } } })).status,
      404,
    );
    assert.equal(((await fixture.api('GET', `/api/v1/configurations/${theirConfigurationId}`)).body as { version: number }).version, 1, 'not edited');
    assert.equal((await fixture.api('DELETE', `/api/v1/configurations/${theirConfigurationId}`, { token })).status, 404);
    const attach = await fixture.api('POST', '/api/v1/provision-requests', {
      token,
      body: { accountId: ownId, clientId: 'mine-1', configurationId: theirConfigurationId },
    });
    assert.ok([400, 404].includes(attach.status), `attach: ${attach.status}`);
    const bundles = await fixture.api('POST', '/api/v1/provision-requests', {
      token,
      body: { accountId: ownId, clientId: 'mine-2', bundleIds: [theirBundleId] },
    });
    assert.ok([400, 404].includes(bundles.status), `bundle: ${bundles.status}`);
    assert.equal((await fixture.api('GET', `/api/v1/configurations/${theirConfigurationId}`)).body.name, 'theirs');
  });

  it("Should not see another account's requests or audit events through filters", async () => {
    const byClient = await fixture.api('GET', '/api/v1/provision-requests?clientId=their-dev', { token });
    assert.equal(byClient.status, 200);
    assert.equal(byClient.body.total, 0);
    assert.equal((await fixture.api('GET', `/api/v1/audit-events?accountId=${otherId}`, { token })).status, 403);
    const byRequest = await fixture.api('GET', `/api/v1/audit-events?provisionRequestId=${theirRequestId}`, { token });
    assert.ok(byRequest.status === 403 || byRequest.body.total === 0, `audit by request: ${byRequest.status} ${byRequest.body.total}`);
    const csv = await fetch(`${fixture.baseUrl}/api/v1/provision-requests/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'text/csv' },
      body: JSON.stringify({ requests: [{ accountId: otherId, clientId: 'planted-csv' }] }),
    });
    assert.equal(csv.status, 403);
  });

  it('Should refuse malformed tokens: a known id with a wrong secret, an empty bearer, two tokens, control characters', async () => {
    const [id] = token.split('.');
    const headers = [
      `Bearer ${id}.${'A'.repeat(32)}`,
      `Bearer ${id}.`,
      'Bearer ',
      'Bearer',
      `Bearer ${token} ${token}`,
      `Bearer ${token}\u0000`,
      `Bearer\t${fixture.adminToken}x`,
      `${fixture.adminToken}`,
    ];
    for (const authorization of headers) {
      const status = await rawGet('/api/v1/provision-requests', authorization);
      assert.ok(status === 401 || status === 400, `${JSON.stringify(authorization.slice(0, 40))} → ${status}`);
    }
  });

  it('Should treat hostile ids in writes as plain data: 400 or 404, never 500, nothing changed', async () => {
    const hostile = ["' OR 1=1 --", '"; DROP TABLE provision_requests; --', '..%2F..%2Fetc', '*', '%', '$where', '__proto__', 'constructor'];
    for (const value of hostile) {
      const id = encodeURIComponent(value);
      for (const [method, path, body] of [
        ['PATCH', `/api/v1/provision-requests/${id}`, { version: 1, retryMaxAttempts: 2 }],
        ['DELETE', `/api/v1/provision-requests/${id}`, undefined],
        ['POST', `/api/v1/provision-requests/${id}/disable`, undefined],
        ['POST', `/api/v1/certificates/${id}/revoke`, { reason: 'x' }],
        ['DELETE', `/api/v1/bundles/${id}`, undefined],
        ['DELETE', `/api/v1/configurations/${id}`, undefined],
        ['PATCH', `/api/v1/accounts/${id}`, { version: 1, brokerUrl: null }],
      ] as const) {
        const answer = await fixture.api(method, path, body === undefined ? {} : { body });
        assert.ok([400, 404].includes(answer.status), `${method} ${path}: ${answer.status}`);
      }
    }
    assert.equal((await fixture.api('GET', `/api/v1/provision-requests/${theirRequestId}`)).body.status, 'ENABLED');
    assert.equal((await fixture.api('GET', '/api/v1/provision-requests')).body.total, 1);
  });

  it('Should answer deep and wide JSON bodies under the size limit with 400, not 500', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const wide = JSON.stringify(Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i])));
    const manyItems = JSON.stringify({ requests: Array.from({ length: 20_000 }, (_, i) => ({ clientId: `c${i}` })) });
    for (const [path, body] of [
      ['/api/v1/accounts', deep],
      ['/api/v1/provision-requests', wide],
      ['/api/v1/provision-requests/batch', manyItems],
      ['/api/v1/configurations', `{"accountId":"${ownId}","name":"deep","content":${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}}`],
    ] as const) {
      const answer = await fixture.api('POST', path, { body });
      assert.ok(answer.status >= 400 && answer.status < 500, `${path}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
    }
    assert.equal((await fixture.api('GET', '/api/v1/accounts')).status, 200, 'still serving');
  });

  it('Should refuse oversized headers and URLs without crashing', async () => {
    const longQuery = await rawGet(`/api/v1/provision-requests?clientId=${'x'.repeat(100_000)}`, `Bearer ${fixture.adminToken}`);
    assert.ok([400, 414, 431].includes(longQuery), `long URL: ${longQuery}`);
    const longHeader = await rawGet('/api/v1/accounts', `Bearer ${'x'.repeat(100_000)}`);
    assert.ok([400, 401, 431].includes(longHeader), `long header: ${longHeader}`);
    assert.equal((await fixture.api('GET', '/api/v1/accounts')).status, 200, 'still serving');
  });

  /** A GET with a raw Authorization header (fetch refuses some of the malformed ones). */
  function rawGet(path: string, authorization: string): Promise<number> {
    return new Promise((resolve, reject) => {
      let request;
      try {
        request = httpRequest(`${fixture.baseUrl}${path}`, { headers: { authorization } }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
      } catch {
        resolve(400); // the client itself refuses the header (e.g. a NUL): it never reaches the server
        return;
      }
      request.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? resolve(431) : reject(error)));
      request.end();
    });
  }
});
