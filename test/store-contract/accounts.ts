import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWith, ids, inStoreOrder, newAccount, newRequest, nextMillisecond, type FreshStore } from './fixtures.ts';

export function accountContract(fresh: FreshStore): void {
  describe('accounts', () => {
    it('creates an account with version 1 and reads it back by id and by name', async (t) => {
      const { store } = await fresh(t);
      const input = newAccount();
      const created = await store.createAccount(input);
      assert.equal(created.version, 1);
      assert.equal(created.createdOn, created.modifiedOn);
      assert.deepEqual({ ...created }, { ...input, id: created.id, createdOn: created.createdOn, modifiedOn: created.modifiedOn, version: 1 });
      assert.deepEqual(await store.getAccount(created.id), created);
      assert.deepEqual(await store.getAccountByName(input.name), created);
    });

    it('keeps a null broker URL, an empty template and no default bundles as given', async (t) => {
      const { store } = await fresh(t);
      const created = await store.createAccount(newAccount({ brokerUrl: null, configurationTemplate: {}, defaultBundleIds: [] }));
      assert.deepEqual(await store.getAccount(created.id), created);
      assert.equal(created.brokerUrl, null);
    });

    it('answers null for an unknown account id or name', async (t) => {
      const { store } = await fresh(t);
      assert.equal(await store.getAccount('no-such-id'), null);
      assert.equal(await store.getAccountByName('no-such-name'), null);
    });

    it('refuses a second account with the same name', async (t) => {
      const { store } = await fresh(t);
      const first = await store.createAccount(newAccount());
      await rejectsWith(store.createAccount(newAccount({ name: first.name })), 'DUPLICATE');
      assert.equal((await store.listAccounts()).total, 1);
    });

    it('updates an account that still has the expected version, bumping the version', async (t) => {
      const { store } = await fresh(t);
      const created = await store.createAccount(newAccount());
      await nextMillisecond();
      const renamed = `${created.name}-renamed`;
      const updated = await store.updateAccount(created.id, 1, { name: renamed, brokerUrl: null, defaultBundleIds: ['x'] });
      assert.equal(updated.version, 2);
      assert.equal(updated.createdOn, created.createdOn);
      assert.ok(updated.modifiedOn > created.modifiedOn);
      assert.deepEqual(updated.configurationTemplate, created.configurationTemplate, 'fields absent from the patch keep their value');
      assert.deepEqual(await store.getAccount(created.id), updated);
      assert.deepEqual(await store.getAccountByName(renamed), updated);
      assert.equal(await store.getAccountByName(created.name), null, 'the old name is free');
      await store.createAccount(newAccount({ name: created.name }));
    });

    it('refuses an account update with a stale version', async (t) => {
      const { store } = await fresh(t);
      const created = await store.createAccount(newAccount());
      await store.updateAccount(created.id, 1, { brokerUrl: 'mqtts://one:8884' });
      await rejectsWith(store.updateAccount(created.id, 1, { brokerUrl: 'mqtts://two:8884' }), 'VERSION_CONFLICT');
      assert.equal((await store.getAccount(created.id))?.brokerUrl, 'mqtts://one:8884');
    });

    it('refuses renaming an account to a name another account has', async (t) => {
      const { store } = await fresh(t);
      const first = await store.createAccount(newAccount());
      const second = await store.createAccount(newAccount());
      await rejectsWith(store.updateAccount(second.id, 1, { name: first.name }), 'DUPLICATE');
      assert.deepEqual(await store.getAccountByName(first.name), first);
      assert.deepEqual(await store.getAccountByName(second.name), second);
    });

    it('answers NOT_FOUND when updating or deleting an unknown account', async (t) => {
      const { store } = await fresh(t);
      await rejectsWith(store.updateAccount('no-such-id', 1, { brokerUrl: null }), 'NOT_FOUND');
      await rejectsWith(store.deleteAccount('no-such-id'), 'NOT_FOUND');
    });

    it('lists accounts in creation order with offset, limit and the total', async (t) => {
      const { store } = await fresh(t);
      const created = [];
      for (let index = 0; index < 5; index += 1) created.push(await store.createAccount(newAccount()));
      const all = await store.listAccounts();
      assert.deepEqual(ids(all.items), ids(inStoreOrder(created)));
      assert.equal(all.total, 5);
      const page = await store.listAccounts({ offset: 1, limit: 2 });
      assert.deepEqual(page, { items: inStoreOrder(created).slice(1, 3), total: 5, offset: 1, limit: 2 });
    });

    it('refuses to delete an account while provision requests reference it', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const request = await store.createProvisionRequest(newRequest(account.id));
      await rejectsWith(store.deleteAccount(account.id), 'DUPLICATE', 'account has provision requests');
      assert.deepEqual(await store.getAccount(account.id), account);
      await store.deleteProvisionRequest(request.id);
      await store.deleteAccount(account.id);
      assert.equal(await store.getAccount(account.id), null);
      assert.equal(await store.getAccountByName(account.name), null);
      assert.equal((await store.listAccounts()).total, 0);
    });

    it('refuses to delete an account while configurations or bundles belong to it', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const configuration = await store.createConfiguration({ accountId: account.id, name: 'base', content: {} });
      await rejectsWith(store.deleteAccount(account.id), 'DUPLICATE', 'account has configurations');
      await store.deleteConfiguration(configuration.id);
      const bundle = await store.createBundle({ accountId: account.id, name: 'app', version: '1.0.0', size: 1, sha256: 'ab'.repeat(32) });
      await rejectsWith(store.deleteAccount(account.id), 'DUPLICATE', 'account has bundles');
      await store.deleteBundle(bundle.id);
      await store.deleteAccount(account.id);
    });

    it('frees the name of a deleted account for a new one', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      await store.deleteAccount(account.id);
      const again = await store.createAccount(newAccount({ name: account.name }));
      assert.notEqual(again.id, account.id);
      assert.deepEqual(await store.getAccountByName(account.name), again);
    });
  });
}
