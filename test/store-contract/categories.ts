import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { refusal } from '../../store/records.ts';
import type { CategoryPatch } from '../../store/types.ts';
import { ids, newAccount, nextMillisecond, rejectsWith, type FreshStore } from './fixtures.ts';

/** Categories of devices (issue 15 §2): unique name per account, never renamed, compare-and-set updates. */
export function categoryContract(fresh: FreshStore): void {
  describe('categories', () => {
    it('creates a category with version 1 and empty defaults, read back by id and by name', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const created = await store.createCategory({ accountId: account.id, name: 'sensors' });
      assert.deepEqual(
        { ...created },
        {
          id: created.id,
          accountId: account.id,
          name: 'sensors',
          description: '',
          configurationId: null,
          bundleIds: [],
          createdOn: created.createdOn,
          modifiedOn: created.createdOn,
          version: 1,
        },
      );
      assert.ok(created.id.length > 0);
      assert.deepEqual(await store.getCategory(created.id), created);
      assert.deepEqual(await store.getCategoryByName(account.id, 'sensors'), created);
    });

    it('keeps a description, a configuration and bundles as given', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const configuration = await store.createConfiguration({ accountId: account.id, name: 'gateway', content: { a: 1 } });
      const input = {
        accountId: account.id,
        name: 'gateways ünïcode',
        description: 'Roof gateways',
        configurationId: configuration.id,
        bundleIds: ['b2', 'b1'],
      };
      const created = await store.createCategory(input);
      assert.deepEqual({ ...created }, { ...input, id: created.id, createdOn: created.createdOn, modifiedOn: created.createdOn, version: 1 });
      assert.deepEqual(await store.getCategory(created.id), created);
      assert.deepEqual(await store.getCategoryByName(account.id, input.name), created);
    });

    it('answers null for an unknown id or name, and for a name only another account has', async (t) => {
      const { store } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      await store.createCategory({ accountId: one.id, name: 'sensors' });
      assert.equal(await store.getCategory('no-such-id'), null);
      assert.equal(await store.getCategoryByName(one.id, 'no-such-name'), null);
      assert.equal(await store.getCategoryByName(two.id, 'sensors'), null);
      assert.equal(await store.getCategoryByName('no-such-account', 'sensors'), null);
    });

    it('refuses a name the account already has (DUPLICATE) and allows it in another account', async (t) => {
      const { store } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const first = await store.createCategory({ accountId: one.id, name: 'sensors', description: 'first' });
      await rejectsWith(store.createCategory({ accountId: one.id, name: 'sensors', description: 'second' }), 'DUPLICATE', refusal.categoryNameTaken);
      assert.deepEqual(await store.getCategoryByName(one.id, 'sensors'), first, 'the refused one changed nothing');
      assert.equal((await store.listCategories(one.id)).total, 1);
      const elsewhere = await store.createCategory({ accountId: two.id, name: 'sensors' });
      assert.notEqual(elsewhere.id, first.id);
      assert.deepEqual(await store.getCategoryByName(two.id, 'sensors'), elsewhere);
      assert.deepEqual(await store.getCategoryByName(one.id, 'sensors'), first);
    });

    it('lists the categories of one account ordered by name, with offset, limit and the total', async (t) => {
      const { store } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const created = [];
      for (const name of ['meters', 'alarms', 'sensors-roof', 'gateways', 'sensors']) created.push(await store.createCategory({ accountId: one.id, name }));
      await store.createCategory({ accountId: two.id, name: 'another-account' });
      const byName = [...created].sort((a, b) => (a.name < b.name ? -1 : 1));
      assert.deepEqual(
        byName.map((category) => category.name),
        ['alarms', 'gateways', 'meters', 'sensors', 'sensors-roof'],
      );
      assert.deepEqual(await store.listCategories(one.id), { items: byName, total: 5, offset: 0, limit: 50 });
      assert.deepEqual(await store.listCategories(one.id, { offset: 1, limit: 3 }), { items: byName.slice(1, 4), total: 5, offset: 1, limit: 3 });
      assert.deepEqual(await store.listCategories(one.id, { offset: 4, limit: 3 }), { items: byName.slice(4), total: 5, offset: 4, limit: 3 });
      assert.deepEqual(await store.listCategories(one.id, { limit: 0 }), { items: [], total: 5, offset: 0, limit: 0 });
      assert.deepEqual(ids((await store.listCategories(two.id)).items), [(await store.getCategoryByName(two.id, 'another-account'))?.id]);
      assert.deepEqual(await store.listCategories('no-such-account'), { items: [], total: 0, offset: 0, limit: 50 });
    });

    it('updates a category that still has the expected version: fields change, version + 1, name and createdOn stay', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const configuration = await store.createConfiguration({ accountId: account.id, name: 'c', content: {} });
      const created = await store.createCategory({ accountId: account.id, name: 'sensors', description: 'old', bundleIds: ['b1'] });
      await nextMillisecond();
      const updated = await store.updateCategory(created.id, 1, { description: 'new', configurationId: configuration.id, bundleIds: ['b2', 'b3'] });
      assert.ok(updated.modifiedOn > created.modifiedOn);
      assert.deepEqual(
        { ...updated },
        { ...created, description: 'new', configurationId: configuration.id, bundleIds: ['b2', 'b3'], modifiedOn: updated.modifiedOn, version: 2 },
      );
      assert.deepEqual(await store.getCategory(created.id), updated);
      assert.deepEqual(await store.getCategoryByName(account.id, 'sensors'), updated);
      const partly = await store.updateCategory(created.id, 2, { configurationId: null });
      assert.deepEqual({ ...partly }, { ...updated, configurationId: null, modifiedOn: partly.modifiedOn, version: 3 }, 'null clears, absent keeps');
      assert.deepEqual(await store.getCategory(created.id), partly);
    });

    it('never renames a category: a name spread into a patch is ignored', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const created = await store.createCategory({ accountId: account.id, name: 'sensors' });
      const sneaky = { description: 'd', name: 'renamed', accountId: 'other-account', id: 'other-id', version: 7 } as CategoryPatch;
      const updated = await store.updateCategory(created.id, 1, sneaky);
      assert.equal(updated.name, 'sensors');
      assert.equal(updated.accountId, account.id);
      assert.equal(updated.id, created.id);
      assert.equal(updated.version, 2);
      assert.equal(updated.description, 'd');
      assert.deepEqual(await store.getCategoryByName(account.id, 'sensors'), updated);
      assert.equal(await store.getCategoryByName(account.id, 'renamed'), null);
      assert.equal(await store.getCategory('other-id'), null);
    });

    it('refuses an update with a stale version (VERSION_CONFLICT) and keeps the stored category', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const created = await store.createCategory({ accountId: account.id, name: 'sensors' });
      const winner = await store.updateCategory(created.id, 1, { description: 'first' });
      await rejectsWith(store.updateCategory(created.id, 1, { description: 'second' }), 'VERSION_CONFLICT', refusal.staleVersion);
      await rejectsWith(store.updateCategory(created.id, 3, { description: 'ahead' }), 'VERSION_CONFLICT', refusal.staleVersion);
      assert.deepEqual(await store.getCategory(created.id), winner);
      assert.equal(winner.description, 'first');
    });

    it('lets exactly one of concurrent updates with the same version win, also across handles', async (t) => {
      const { store, openAnother } = await fresh(t);
      const other = await openAnother();
      t.after(() => other.close());
      const account = await store.createAccount(newAccount());
      const created = await store.createCategory({ accountId: account.id, name: 'sensors' });
      const outcomes = await Promise.allSettled(
        Array.from({ length: 6 }, (_, index) => (index % 2 ? other : store).updateCategory(created.id, 1, { description: `writer-${index}` })),
      );
      const won = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
      const codes = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [(outcome.reason as { code?: string }).code] : []));
      assert.equal(won.length, 1);
      assert.deepEqual(codes, Array(5).fill('VERSION_CONFLICT'));
      assert.deepEqual(await store.getCategory(created.id), won[0]);
    });

    it('answers NOT_FOUND when updating or deleting an unknown category', async (t) => {
      const { store } = await fresh(t);
      await rejectsWith(store.updateCategory('no-such-id', 1, { description: 'x' }), 'NOT_FOUND', refusal.categoryNotFound);
      await rejectsWith(store.deleteCategory('no-such-id'), 'NOT_FOUND', refusal.categoryNotFound);
    });

    it('deletes a category, freeing its name; deleting it again is NOT_FOUND', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const doomed = await store.createCategory({ accountId: account.id, name: 'sensors' });
      const kept = await store.createCategory({ accountId: account.id, name: 'gateways' });
      await store.deleteCategory(doomed.id);
      assert.equal(await store.getCategory(doomed.id), null);
      assert.equal(await store.getCategoryByName(account.id, 'sensors'), null);
      assert.deepEqual(await store.listCategories(account.id), { items: [kept], total: 1, offset: 0, limit: 50 });
      await rejectsWith(store.deleteCategory(doomed.id), 'NOT_FOUND', refusal.categoryNotFound);
      await rejectsWith(store.updateCategory(doomed.id, 1, { description: 'x' }), 'NOT_FOUND', refusal.categoryNotFound);
      const again = await store.createCategory({ accountId: account.id, name: 'sensors' });
      assert.notEqual(again.id, doomed.id);
      assert.equal(again.version, 1);
      assert.deepEqual(await store.getCategoryByName(account.id, 'sensors'), again);
    });

    it('keeps categories after close and reopen', async (t) => {
      const { store, openAnother } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const created = await store.createCategory({ accountId: account.id, name: 'sensors', description: 'd', bundleIds: ['b1'] });
      const updated = await store.updateCategory(created.id, 1, { description: 'e' });
      await store.close();
      const reopened = await openAnother();
      t.after(() => reopened.close());
      assert.deepEqual(await reopened.getCategory(created.id), updated);
      assert.deepEqual(await reopened.getCategoryByName(account.id, 'sensors'), updated);
      assert.deepEqual((await reopened.listCategories(account.id)).items, [updated]);
      await rejectsWith(reopened.createCategory({ accountId: account.id, name: 'sensors' }), 'DUPLICATE', refusal.categoryNameTaken);
    });
  });
}
