import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProvisionRequest } from '../../store/types.ts';
import { ids, inStoreOrder, newAccount, newRequest, nextMillisecond, type FreshStore } from './fixtures.ts';

/** A provision request's category and tags (issue 15 §2), which the device inherits. */
export function requestCategoryContract(fresh: FreshStore): void {
  describe('provision request category and tags', () => {
    it('has no category and no tags unless given', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const created = await store.createProvisionRequest(newRequest(account.id));
      assert.equal(created.category, null);
      assert.deepEqual(created.tags, []);
      assert.deepEqual(await store.getProvisionRequest(created.id), created);
    });

    it('stores a category and tags, the tags sorted and without repeats', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      await store.createCategory({ accountId: account.id, name: 'sensors' });
      const created = await store.createProvisionRequest(newRequest(account.id, { category: 'sensors', tags: ['roof', 'north', 'roof', 'b-2', 'B-1'] }));
      assert.equal(created.category, 'sensors');
      assert.deepEqual(created.tags, ['B-1', 'b-2', 'north', 'roof']);
      const read = await store.getProvisionRequest(created.id);
      assert.deepEqual(read, created);
      assert.deepEqual(await store.findEnabledProvisionRequest(created.clientId), created);
      assert.deepEqual((await store.listProvisionRequests({ accountId: account.id })).items, [created]);
    });

    it('stores them for requests created in a batch and for a replacement', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      await store.createCategory({ accountId: account.id, name: 'sensors' });
      const [tagged, plain] = await store.createProvisionRequests([
        newRequest(account.id, { category: 'sensors', tags: ['z', 'a', 'z'], overwriteIfDuplicate: true }),
        newRequest(account.id),
      ]);
      assert.ok(tagged?.ok && plain?.ok);
      assert.equal(tagged.request.category, 'sensors');
      assert.deepEqual(tagged.request.tags, ['a', 'z']);
      assert.equal(plain.request.category, null);
      assert.deepEqual(plain.request.tags, []);
      assert.deepEqual(await store.getProvisionRequest(tagged.request.id), tagged.request);
      assert.deepEqual(await store.getProvisionRequest(plain.request.id), plain.request);
      const replacement = await store.replaceProvisionRequest(
        tagged.request.id,
        newRequest(account.id, { clientId: tagged.request.clientId, tags: ['y', 'x', 'y'] }),
      );
      assert.equal(replacement.category, null);
      assert.deepEqual(replacement.tags, ['x', 'y']);
      assert.deepEqual(await store.getProvisionRequest(replacement.id), replacement);
    });

    it('patches the category and tags: tags normalised, null and [] clear, absent keeps', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      await store.createCategory({ accountId: account.id, name: 'sensors' });
      await store.createCategory({ accountId: account.id, name: 'gateways' });
      const created = await store.createProvisionRequest(newRequest(account.id, { category: 'sensors', tags: ['a'] }));
      const moved = await store.updateProvisionRequest(created.id, 1, { modifiedBy: 'admin', category: 'gateways', tags: ['q', 'p', 'q'] });
      assert.equal(moved.category, 'gateways');
      assert.deepEqual(moved.tags, ['p', 'q']);
      assert.deepEqual(await store.getProvisionRequest(created.id), moved);
      const untouched = await store.updateProvisionRequest(created.id, 2, { modifiedBy: 'admin', jobStatus: 'STARTED' });
      assert.equal(untouched.category, 'gateways');
      assert.deepEqual(untouched.tags, ['p', 'q']);
      const cleared = await store.updateProvisionRequest(created.id, 3, { modifiedBy: 'admin', category: null, tags: [] });
      assert.equal(cleared.category, null);
      assert.deepEqual(cleared.tags, []);
      assert.deepEqual(await store.getProvisionRequest(created.id), cleared);
    });

    it('lists the requests of a category, alone, within an account and paged, the total counting every match', async (t) => {
      const { store } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      for (const account of [one, two]) for (const name of ['sensors', 'sensors-old', 'gateways']) await store.createCategory({ accountId: account.id, name });
      const plan = [
        [one.id, 'sensors'],
        [one.id, 'gateways'],
        [two.id, 'sensors'],
        [one.id, null],
        [one.id, 'sensors-old'],
        [one.id, 'sensors'],
        [two.id, 'gateways'],
        [one.id, 'sensors'],
      ] as const;
      const seeded: ProvisionRequest[] = [];
      for (const [accountId, category] of plan) {
        await nextMillisecond();
        seeded.push(await store.createProvisionRequest(newRequest(accountId, { category })));
      }
      const matching = (keep: (request: ProvisionRequest) => boolean) => inStoreOrder(seeded.filter(keep));

      const sensors = await store.listProvisionRequests({ category: 'sensors' });
      assert.deepEqual(ids(sensors.items), ids(matching((request) => request.category === 'sensors')));
      assert.equal(sensors.total, 4);
      const inOne = await store.listProvisionRequests({ accountId: one.id, category: 'sensors' });
      assert.deepEqual(
        inOne.items,
        matching((request) => request.accountId === one.id && request.category === 'sensors'),
      );
      assert.equal(inOne.total, 3);
      const paged = await store.listProvisionRequests({ accountId: one.id, category: 'sensors', offset: 1, limit: 1 });
      assert.deepEqual(paged, { items: inOne.items.slice(1, 2), total: 3, offset: 1, limit: 1 });
      const gatewaysOfTwo = await store.listProvisionRequests({ accountId: two.id, category: 'gateways' });
      assert.deepEqual(
        gatewaysOfTwo.items,
        matching((request) => request.accountId === two.id && request.category === 'gateways'),
      );
      assert.equal((await store.listProvisionRequests({ category: 'sensors-old' })).total, 1);
      assert.deepEqual(await store.listProvisionRequests({ category: 'sensor' }), { items: [], total: 0, offset: 0, limit: 50 });
      assert.deepEqual(await store.listProvisionRequests({ category: 'no-such-category' }), { items: [], total: 0, offset: 0, limit: 50 });
      assert.equal((await store.listProvisionRequests({ accountId: one.id })).total, 6, 'without the filter every request of the account');
    });

    it('lists a request under its new category once it is patched', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      await store.createCategory({ accountId: account.id, name: 'sensors' });
      await store.createCategory({ accountId: account.id, name: 'gateways' });
      const created = await store.createProvisionRequest(newRequest(account.id, { category: 'sensors' }));
      const moved = await store.updateProvisionRequest(created.id, 1, { modifiedBy: 'admin', category: 'gateways' });
      assert.equal((await store.listProvisionRequests({ category: 'sensors' })).total, 0);
      assert.deepEqual((await store.listProvisionRequests({ category: 'gateways' })).items, [moved]);
      await store.updateProvisionRequest(created.id, 2, { modifiedBy: 'admin', category: null });
      assert.equal((await store.listProvisionRequests({ category: 'gateways' })).total, 0);
    });
  });
}
