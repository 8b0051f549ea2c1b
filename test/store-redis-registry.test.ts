import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { openRedisStore } from '../store/redis/redis-store.ts';
import { newAccount, newRequest } from './store-contract/fixtures.ts';
import { requireRedisOrSkip, startRedisOrSkip } from '../dev-support/redis-server.ts';

const server = await startRedisOrSkip();
after(() => server?.stop());

describe('redis store: account deletion', () => {
  it('deletes the categories of the account with it, freeing their names, and leaves no key of them', async (t) => {
    if (!requireRedisOrSkip(t, server)) return;
    const keyPrefix = `test:${randomUUID()}:`;
    const store = await openRedisStore({ url: server.url, keyPrefix });
    const raw = new Redis(server.url);
    t.after(async () => {
      await store.close();
      await raw.quit();
    });
    const [account, other] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
    const kept = await store.createCategory({ accountId: other.id, name: 'a' });
    await store.createCategory({ accountId: account.id, name: 'a' });
    await store.createCategory({ accountId: account.id, name: 'b:c' });
    await store.deleteAccount(account.id);
    const left = [`${keyPrefix}category:${kept.id}`, `${keyPrefix}category-name:${other.id}:a`, `${keyPrefix}account-categories:${other.id}`];
    assert.deepEqual((await raw.keys(`${keyPrefix}*categor*`)).sort(), left.sort());
    assert.equal(await store.getCategoryByName(account.id, 'a'), null);
    assert.deepEqual((await store.listCategories(other.id)).items, [kept]);
  });
});

/** Records as an earlier version of the Redis store wrote them, before issue 15's registry fields. */
describe('redis store: records stored before issue 15', () => {
  it('reads a device record without an id with a stable id, finds it by that id, and keeps the id once upserted', async (t) => {
    if (!requireRedisOrSkip(t, server)) return;
    const keyPrefix = `test:${randomUUID()}:`;
    const store = await openRedisStore({ url: server.url, keyPrefix });
    const raw = new Redis(server.url);
    t.after(async () => {
      await store.close();
      await raw.quit();
    });
    const account = await store.createAccount(newAccount());
    await store.upsertDevice(account.id, 'old-device', {
      online: true,
      lastSeenOn: 5,
    });
    const old = {
      accountId: account.id,
      clientId: 'old-device',
      online: true,
      certificateSerial: '0a',
      expectedConfigurationHash: null,
      reportedConfigurationHash: null,
      provisionedOn: 1,
      lastBirthOn: 2,
      lastSeenOn: 3,
      modifiedOn: 4,
    };
    await raw.set(`${keyPrefix}device:${account.id}:old-device`, JSON.stringify(old));
    await raw.del(...(await raw.keys(`${keyPrefix}device-id:*`)));

    const read = await store.getDevice(account.id, 'old-device');
    assert.ok(read);
    assert.deepEqual(
      { ...read, id: '' },
      {
        ...old,
        id: '',
        brokerId: null,
        category: null,
        tags: [],
        model: null,
        serial: null,
        firmware: null,
        certificateNotAfter: null,
        configurationId: null,
        configurationVersion: null,
        configurationState: null,
        configurationError: null,
        bundles: [],
        trustedRoots: [],
      },
    );
    assert.deepEqual(await store.getDevice(account.id, 'old-device'), read, 'the same id every time');
    assert.deepEqual((await store.listDevices({ accountId: account.id })).items, [read]);
    assert.deepEqual(await store.getDeviceById(read.id), read, 'found by the id it was read with');

    const upserted = await store.upsertDevice(account.id, 'old-device', {
      brokerId: 'broker-1',
      tags: [],
    });
    assert.deepEqual(upserted, {
      ...read,
      brokerId: 'broker-1',
      modifiedOn: upserted.modifiedOn,
    });
    assert.deepEqual(await store.getDeviceById(read.id), upserted);
    assert.equal(await store.markBrokerDevicesOffline('broker-1', 99), 1);
    assert.equal((await store.getDevice(account.id, 'old-device'))?.online, false);

    await store.deleteDevice(account.id, 'old-device');
    assert.equal(await store.getDeviceById(read.id), null);
    assert.deepEqual(await raw.keys(`${keyPrefix}device*`), []);
    assert.deepEqual(await raw.keys(`${keyPrefix}broker-devices:*`), []);
  });

  it('keeps the broker and category indexes with the records: a move leaves the old one, a delete leaves both', async (t) => {
    if (!requireRedisOrSkip(t, server)) return;
    const keyPrefix = `test:${randomUUID()}:`;
    const store = await openRedisStore({ url: server.url, keyPrefix });
    const raw = new Redis(server.url);
    t.after(async () => {
      await store.close();
      await raw.quit();
    });
    const account = await store.createAccount(newAccount());
    await store.upsertDevice(account.id, 'd', {
      brokerId: 'b1',
      category: 'c1',
      online: true,
    });
    await store.upsertDevice(account.id, 'd', {
      brokerId: 'b2',
      category: 'c2',
    });
    assert.deepEqual(await raw.smembers(`${keyPrefix}broker-devices:b1`), []);
    assert.deepEqual(await raw.smembers(`${keyPrefix}broker-devices:b2`), [`${account.id}\u0000d`]);
    assert.deepEqual(await raw.zrange(`${keyPrefix}category-devices:${account.id}:c1`, 0, -1), []);
    assert.deepEqual(await raw.zrange(`${keyPrefix}category-devices:${account.id}:c2`, 0, -1), ['d']);
    assert.equal((await store.listDevices({ accountId: account.id, category: 'c2' })).total, 1);
    await store.upsertDevice(account.id, 'd', {
      brokerId: null,
      category: null,
    });
    assert.deepEqual(await raw.keys(`${keyPrefix}broker-devices:*`), []);
    assert.deepEqual(await raw.keys(`${keyPrefix}category-devices:*`), []);
    await store.upsertDevice(account.id, 'd', {
      brokerId: 'b3',
      category: 'c3',
    });
    await store.deleteDevice(account.id, 'd');
    assert.deepEqual(await raw.keys(`${keyPrefix}*device*`), []);
  });

  it('reads a configuration without versions as version 1, lists it as its one version, and keeps it when edited', async (t) => {
    if (!requireRedisOrSkip(t, server)) return;
    const keyPrefix = `test:${randomUUID()}:`;
    const store = await openRedisStore({ url: server.url, keyPrefix });
    const raw = new Redis(server.url);
    t.after(async () => {
      await store.close();
      await raw.quit();
    });
    const account = await store.createAccount(newAccount());
    const created = await store.createConfiguration({
      accountId: account.id,
      name: 'c',
      content: { a: 1 },
    });
    const { version: _version, modifiedOn: _modifiedOn, ...old } = created;
    await raw.set(`${keyPrefix}configuration:${created.id}`, JSON.stringify(old));
    await raw.del(`${keyPrefix}configuration-versions:${created.id}`);

    const read = await store.getConfiguration(created.id);
    assert.deepEqual(read, created);
    const first = {
      configurationId: created.id,
      version: 1,
      content: { a: 1 },
      createdOn: created.createdOn,
      createdBy: '',
    };
    assert.deepEqual(await store.listConfigurationVersions(created.id), {
      items: [first],
      total: 1,
      offset: 0,
      limit: 50,
    });
    assert.deepEqual(await store.listConfigurationVersions(created.id, { offset: 1 }), { items: [], total: 1, offset: 1, limit: 50 });
    assert.deepEqual(await store.getConfigurationVersion(created.id, 1), first);
    assert.equal(await store.getConfigurationVersion(created.id, 2), null);
    const second = await store.updateConfigurationContent(created.id, 1, { a: 2 }, 'admin');
    assert.equal(second.version, 2);
    assert.deepEqual(
      (await store.listConfigurationVersions(created.id)).items.map((version) => [version.version, version.content, version.createdBy]),
      [
        [2, { a: 2 }, 'admin'],
        [1, { a: 1 }, ''],
      ],
    );
  });

  it('reads a request without category and tags as having none', async (t) => {
    if (!requireRedisOrSkip(t, server)) return;
    const keyPrefix = `test:${randomUUID()}:`;
    const store = await openRedisStore({ url: server.url, keyPrefix });
    const raw = new Redis(server.url);
    t.after(async () => {
      await store.close();
      await raw.quit();
    });
    const account = await store.createAccount(newAccount());
    const created = await store.createProvisionRequest(newRequest(account.id));
    const { category: _category, tags: _tags, ...old } = created;
    await raw.set(`${keyPrefix}request:${created.id}`, JSON.stringify(old));
    assert.deepEqual(await store.getProvisionRequest(created.id), created);
    assert.equal((await store.listProvisionRequests({ category: 'x' })).total, 0);
  });
});
