import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { PlatformError } from '../errors/platform-error.ts';
import { openStore } from '../store/open-store.ts';
import { openRedisStore } from '../store/redis/redis-store.ts';
import { storeContract, type OpenedStore } from './store-contract.ts';
import { newAccount, newRequest, rejectsWith } from './store-contract/fixtures.ts';
import { freePort } from '../dev-support/ports.ts';
import { requireRedisOrSkip, startRedisOrSkip, startRedisServer, type RedisServer } from '../dev-support/redis-server.ts';

const server = await startRedisOrSkip();
after(() => server?.stop());

/** Each store gets a fresh key prefix on the shared server, so tests never see each other's keys. */
function openOnPrefix(redis: RedisServer) {
  return async (): Promise<OpenedStore> => {
    const keyPrefix = `test:${randomUUID()}:`;
    const store = await openRedisStore({ url: redis.url, keyPrefix });
    return {
      store,
      openAnother: () => openRedisStore({ url: redis.url, keyPrefix }),
      cleanup: () => store.close(),
    };
  };
}

if (server) {
  storeContract('redis', openOnPrefix(server));
} else {
  describe('redis store contract', () => {
    it('runs against a real redis-server', (t) => {
      requireRedisOrSkip(t, server);
    });
  });
}

describe('redis store specifics', () => {
  it('keeps stores with different key prefixes apart', async (t) => {
    if (!requireRedisOrSkip(t, server)) return;
    const one = await openRedisStore({ url: server.url, keyPrefix: `test:${randomUUID()}:` });
    const two = await openRedisStore({ url: server.url, keyPrefix: `test:${randomUUID()}:` });
    t.after(() => Promise.all([one.close(), two.close()]));
    const account = await one.createAccount(newAccount());
    await two.createAccount(newAccount({ name: account.name }));
    await two.createProvisionRequest(newRequest((await two.getAccountByName(account.name))?.id ?? '', { clientId: 'shared' }));
    await one.createProvisionRequest(newRequest(account.id, { clientId: 'shared' }));
    assert.equal((await one.listAccounts()).total, 1);
  });

  it('is what openStore opens when the backend is redis, under the configured prefix', async (t) => {
    if (!requireRedisOrSkip(t, server)) return;
    const keyPrefix = `test:${randomUUID()}:`;
    const store = await openStore({ dataDir: '/nonexistent', storeBackend: 'redis', redisUrl: server.url, redisKeyPrefix: keyPrefix });
    t.after(() => store.close());
    assert.equal(store.backend, 'redis');
    await store.setSettingIfAbsent('k', 'v');
    const raw = new Redis(server.url);
    t.after(() => raw.quit());
    assert.deepEqual(await raw.keys(`${keyPrefix}*`), [`${keyPrefix}settings`]);
  });

  it('reads a request stored before device facts were recorded as one without facts, and can record them', async (t) => {
    if (!requireRedisOrSkip(t, server)) return;
    const keyPrefix = `test:${randomUUID()}:`;
    const store = await openRedisStore({ url: server.url, keyPrefix });
    t.after(() => store.close());
    const account = await store.createAccount(newAccount());
    const created = await store.createProvisionRequest(newRequest(account.id));
    const raw = new Redis(server.url);
    t.after(() => raw.quit());
    const { device: _device, ...older } = created;
    await raw.set(`${keyPrefix}request:${created.id}`, JSON.stringify(older));
    const none = { model: null, serial: null, firmware: null };
    assert.deepEqual(await store.getProvisionRequest(created.id), created);
    assert.deepEqual((await store.findEnabledProvisionRequest(created.clientId))?.device, none);
    assert.deepEqual((await store.listProvisionRequests({ accountId: account.id })).items, [created]);
    const updated = await store.updateProvisionRequest(created.id, 1, { modifiedBy: 'provisioner', device: { model: 'm' } });
    assert.deepEqual(await store.getProvisionRequest(created.id), updated);
    assert.deepEqual(updated.device, { model: 'm', serial: null, firmware: null });
  });

  it('still runs its scripts after Redis lost its script cache', async (t) => {
    if (!requireRedisOrSkip(t, server)) return;
    const store = await openRedisStore({ url: server.url, keyPrefix: `test:${randomUUID()}:` });
    t.after(() => store.close());
    await store.createAccount(newAccount());
    const raw = new Redis(server.url);
    t.after(() => raw.quit());
    await raw.script('FLUSH');
    await store.createAccount(newAccount());
    assert.equal((await store.listAccounts()).total, 2);
  });

  it('refuses to open with STORE_UNAVAILABLE when nothing answers, without echoing the password', async () => {
    const port = await freePort();
    const started = Date.now();
    await assert.rejects(openRedisStore({ url: `redis://:hunter2secret@127.0.0.1:${port}`, keyPrefix: 'p:' }), (error: unknown) => {
      assert.ok(error instanceof PlatformError);
      assert.equal(error.code, 'STORE_UNAVAILABLE');
      assert.ok(!error.message.includes('hunter2secret'), error.message);
      return true;
    });
    assert.ok(Date.now() - started < 3000);
  });

  it('fails fast with STORE_UNAVAILABLE while Redis is down and works again, data intact, once it is back', async (t) => {
    if (!requireRedisOrSkip(t, server)) return;
    const persistent = await startRedisServer({ persistent: true });
    assert.ok(persistent?.restart);
    t.after(() => persistent.stop());
    const store = await openRedisStore({ url: persistent.url, keyPrefix: 'restart:' });
    t.after(() => store.close());
    const account = await store.createAccount(newAccount());

    await persistent.restart(async () => {
      for (const call of [() => store.getAccount(account.id), () => store.createAccount(newAccount())]) {
        const started = Date.now();
        await rejectsWith(call(), 'STORE_UNAVAILABLE');
        assert.ok(Date.now() - started < 3000, `failed after ${Date.now() - started} ms, not at once`);
      }
    });

    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        assert.deepEqual(await store.getAccount(account.id), account);
        break;
      } catch (error) {
        if (!(error instanceof PlatformError && error.code === 'STORE_UNAVAILABLE') || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    await store.createProvisionRequest(newRequest(account.id));
  });
});
