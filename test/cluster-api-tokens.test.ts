import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { startCluster, type Cluster } from '../dev-support/cluster.ts';
import { startRedisOrSkip, type RedisServer } from '../dev-support/redis-server.ts';

/**
 * Issue 17 §3 on a cluster with two API processes sharing one Redis store: a token revoked
 * through one process is refused (401) by the other on the very next request, and a token that
 * expires is refused by both. Each process reads the token's record at every request; nothing
 * about a token's validity is cached, so there is nothing to invalidate across processes.
 */
describe('API tokens on a cluster of two API processes', () => {
  let redis: RedisServer | null;
  let cluster: Cluster | undefined;
  let accountId: string;

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers, read field by field
  async function call(apiUrl: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(`${apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }

  before(async () => {
    redis = await startRedisOrSkip();
    if (!redis) return;
    cluster = await startCluster({ redisUrl: redis.url, brokers: 1, provisioners: 1, apis: 2 });
    assert.equal(cluster.apiUrls.length, 2);
    const created = await cluster.api<{ id: string }>('POST', '/accounts', { name: 'c-tokens' });
    assert.equal(created.status, 201, created.text);
    accountId = created.body.id;
  });
  after(async () => {
    await cluster?.close();
    await redis?.stop();
  });

  it('Should refuse a token revoked through one API process on the next request to the other', async (t) => {
    if (!cluster) return t.skip('no redis-server');
    const [first, second] = cluster.apiUrls as [string, string];
    const created = await call(first, cluster.adminToken, 'POST', '/api-tokens', { accountId, scope: 'operator', description: 'cluster' });
    assert.equal(created.status, 201);
    const { id, token } = created.body as { id: string; token: string };
    for (let round = 0; round < 3; round += 1) {
      for (const apiUrl of [first, second]) assert.equal((await call(apiUrl, token, 'GET', '/whoami')).status, 200, 'usable (and remembered) everywhere');
    }
    const revoked = await call(second, cluster.adminToken, 'POST', `/api-tokens/${id}/revoke`);
    assert.equal(revoked.status, 200);
    assert.equal((await call(first, token, 'GET', '/whoami')).status, 401, 'the process that did not revoke it refuses it at once');
    assert.equal((await call(first, token, 'POST', '/provision-requests', { accountId, clientId: 'after-revoke' })).status, 401);
    assert.equal((await call(second, token, 'GET', '/whoami')).status, 401);
    const listed = await call(first, cluster.adminToken, 'GET', '/api-tokens');
    assert.equal(listed.body.items.find((item: { id: string }) => item.id === id)?.state, 'revoked', 'both processes list the same record');
  });

  it('Should refuse an expired token on every API process', async (t) => {
    if (!cluster) return t.skip('no redis-server');
    const [first, second] = cluster.apiUrls as [string, string];
    const expiresOn = new Date(Date.now() + 2000).toISOString();
    const created = await call(first, cluster.adminToken, 'POST', '/api-tokens', { accountId, scope: 'read', expiresOn });
    assert.equal(created.status, 201);
    const token = created.body.token as string;
    for (const apiUrl of [first, second]) assert.equal((await call(apiUrl, token, 'GET', '/whoami')).status, 200);
    await sleep(Date.parse(expiresOn) - Date.now() + 100);
    for (const apiUrl of [first, second]) assert.equal((await call(apiUrl, token, 'GET', '/whoami')).status, 401);
  });
});
