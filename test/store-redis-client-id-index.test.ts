import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { openRedisStore } from '../store/redis/redis-store.ts';
import { newAccount, newCertificate, newRequest } from './store-contract/fixtures.ts';
import { requireRedisOrSkip, startRedisOrSkip } from '../dev-support/redis-server.ts';

const server = await startRedisOrSkip();
after(() => server?.stop());

/**
 * findClientIdHolders and the listings filtered by clientId on Redis read indexes by clientId
 * (store/redis/client-id-index.ts). A store written by an earlier version has none: they are
 * built from its records on first use, and the answers are those the contract asks for
 * (test/store-contract/client-id-holders.ts, client-listings.ts).
 */
describe('redis clientId indexes', () => {
  it('are built from the records of a store written before they existed', async (t) => {
    if (!requireRedisOrSkip(t, server)) return;
    const keyPrefix = `test:${randomUUID()}:`;
    const store = await openRedisStore({ url: server.url, keyPrefix });
    const raw = new Redis(server.url);
    try {
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const deleted = await store.createProvisionRequest(newRequest(one.id, { clientId: 'gone' }));
      await store.deleteProvisionRequest(deleted.id);
      await store.createProvisionRequest(newRequest(one.id, { clientId: 'shared' }));
      await store.createProvisionRequests([newRequest(two.id, { clientId: 'shared', status: 'DISABLED' })]);
      await store.recordCertificate(newCertificate(two.id, { clientId: 'shared' }));
      const revoked = await store.recordCertificate(newCertificate(one.id, { clientId: 'gone' }));
      await store.revokeCertificate(revoked.serial, 'superseded');
      const expected = await store.findClientIdHolders(['shared', 'gone']);
      assert.deepEqual(expected.get('shared'), { requestAccountIds: [one.id, two.id].sort(), validCertificateAccountIds: [two.id] });
      assert.equal(expected.has('gone'), false);
      const listedCertificates = await store.listCertificates({ clientId: 'shared' });
      const listedRequests = await store.listProvisionRequests({ clientIds: ['shared'] });

      // What an earlier version left: the same records, no indexes, no marker.
      const indexKeys = [...(await raw.keys(`${keyPrefix}client-accounts:*`)), ...(await raw.keys(`${keyPrefix}client-certificates:*`))];
      assert.ok(indexKeys.length >= 3, indexKeys.join(' '));
      await raw.del(...indexKeys);
      await raw.hdel(`${keyPrefix}settings`, 'store:client-id-index');

      const reopened = await openRedisStore({ url: server.url, keyPrefix });
      try {
        // The listings by clientId read the same indexes (built here, before findClientIdHolders asks).
        assert.deepEqual((await reopened.listCertificates({ clientId: 'shared' })).items, listedCertificates.items);
        assert.deepEqual((await reopened.listProvisionRequests({ clientIds: ['shared'] })).items, listedRequests.items);
        assert.equal(listedRequests.total, 2);
        assert.deepEqual(await reopened.findClientIdHolders(['shared', 'gone']), expected);
        assert.equal(await raw.hget(`${keyPrefix}settings`, 'store:client-id-index'), '1');
      } finally {
        await reopened.close();
      }
    } finally {
      raw.disconnect();
      await store.close();
    }
  });
});
