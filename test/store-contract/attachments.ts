import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ids, inStoreOrder, newAccount, rejectsWith, type FreshStore } from './fixtures.ts';

export function attachmentContract(fresh: FreshStore): void {
  describe('configurations and bundles', () => {
    it('creates, reads, lists per account and deletes configurations', async (t) => {
      const { store } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const content = { 'broker.url': 'mqtts://x:8884', nested: { list: [1, 'two', null, true] } };
      const first = await store.createConfiguration({ accountId: one.id, name: 'first', content });
      const second = await store.createConfiguration({ accountId: one.id, name: 'second', content: {} });
      await store.createConfiguration({ accountId: two.id, name: 'elsewhere', content: {} });
      assert.deepEqual(await store.getConfiguration(first.id), {
        id: first.id,
        accountId: one.id,
        name: 'first',
        content,
        version: 1,
        createdOn: first.createdOn,
        modifiedOn: first.createdOn,
      });
      const listed = await store.listConfigurations(one.id);
      assert.deepEqual(ids(listed.items), ids(inStoreOrder([first, second])));
      assert.equal(listed.total, 2);
      assert.deepEqual(await store.listConfigurations(one.id, { offset: 1, limit: 1 }), {
        items: inStoreOrder([first, second]).slice(1),
        total: 2,
        offset: 1,
        limit: 1,
      });
      await store.deleteConfiguration(first.id);
      assert.equal(await store.getConfiguration(first.id), null);
      assert.deepEqual((await store.listConfigurations(one.id)).items, [second]);
    });

    it('creates, reads, lists per account and deletes bundle metadata', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const input = { accountId: account.id, name: 'telemetry', version: '2.1.0', size: 52_428_800, sha256: 'c0ffee'.repeat(10) + 'abcd' };
      const bundle = await store.createBundle(input);
      assert.deepEqual(bundle, { ...input, id: bundle.id, createdOn: bundle.createdOn });
      assert.deepEqual(await store.getBundle(bundle.id), bundle);
      assert.deepEqual(await store.listBundles(account.id), { items: [bundle], total: 1, offset: 0, limit: 50 });
      assert.deepEqual(await store.listBundles('no-such-account'), { items: [], total: 0, offset: 0, limit: 50 });
      await store.deleteBundle(bundle.id);
      assert.equal(await store.getBundle(bundle.id), null);
      assert.equal((await store.listBundles(account.id)).total, 0);
    });

    it('refuses a configuration or bundle for an account that does not exist', async (t) => {
      const { store } = await fresh(t);
      await rejectsWith(store.createConfiguration({ accountId: 'no-such-account', name: 'c', content: {} }), 'NOT_FOUND');
      await rejectsWith(store.createBundle({ accountId: 'no-such-account', name: 'b', version: '1', size: 1, sha256: 'ab' }), 'NOT_FOUND');
    });

    it('answers null for unknown ids and NOT_FOUND when deleting them', async (t) => {
      const { store } = await fresh(t);
      assert.equal(await store.getConfiguration('no-such-id'), null);
      assert.equal(await store.getBundle('no-such-id'), null);
      await rejectsWith(store.deleteConfiguration('no-such-id'), 'NOT_FOUND');
      await rejectsWith(store.deleteBundle('no-such-id'), 'NOT_FOUND');
    });
  });
}
