import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PlatformError } from '../../errors/platform-error.ts';
import { refusal } from '../../store/records.ts';
import { newAccount, nextMillisecond, rejectsWith, type FreshStore } from './fixtures.ts';

/** Configuration versions (issue 15 §3): each edit makes the next version, the old ones kept with their content. */
export function configurationVersionContract(fresh: FreshStore): void {
  describe('configuration versions', () => {
    it('creates a configuration at version 1 and keeps that content as its first version', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const content = { 'broker.url': 'mqtts://x:8884', nested: { list: [1, 'ünï', null, true] } };
      const created = await store.createConfiguration({ accountId: account.id, name: 'base', content, createdBy: 'alice' });
      assert.deepEqual(
        { ...created },
        { id: created.id, accountId: account.id, name: 'base', content, version: 1, createdOn: created.createdOn, modifiedOn: created.createdOn },
      );
      assert.deepEqual(await store.getConfiguration(created.id), created);
      const first = { configurationId: created.id, version: 1, content, createdOn: created.createdOn, createdBy: 'alice' };
      assert.deepEqual(await store.getConfigurationVersion(created.id, 1), first);
      assert.deepEqual(await store.listConfigurationVersions(created.id), { items: [first], total: 1, offset: 0, limit: 50 });
      assert.equal(await store.getConfigurationVersion(created.id, 2), null);
    });

    it("records '' as the creator of the first version when none is given", async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const created = await store.createConfiguration({ accountId: account.id, name: 'base', content: {} });
      assert.equal((await store.getConfigurationVersion(created.id, 1))?.createdBy, '');
    });

    it('makes version 2 with the new content, keeping version 1 listed after it with its old content and creator', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const created = await store.createConfiguration({ accountId: account.id, name: 'base', content: { level: 'old' }, createdBy: 'alice' });
      await nextMillisecond();
      const updated = await store.updateConfigurationContent(created.id, 1, { level: 'new', added: [1] }, 'bob');
      assert.ok(updated.modifiedOn > created.modifiedOn);
      assert.deepEqual({ ...updated }, { ...created, content: { level: 'new', added: [1] }, version: 2, modifiedOn: updated.modifiedOn });
      assert.deepEqual(await store.getConfiguration(created.id), updated);
      assert.deepEqual((await store.listConfigurations(account.id)).items, [updated]);
      const first = { configurationId: created.id, version: 1, content: { level: 'old' }, createdOn: created.createdOn, createdBy: 'alice' };
      const second = { configurationId: created.id, version: 2, content: { level: 'new', added: [1] }, createdOn: updated.modifiedOn, createdBy: 'bob' };
      assert.deepEqual(await store.listConfigurationVersions(created.id), { items: [second, first], total: 2, offset: 0, limit: 50 });
      assert.deepEqual(await store.getConfigurationVersion(created.id, 1), first);
      assert.deepEqual(await store.getConfigurationVersion(created.id, 2), second);
      assert.equal(await store.getConfigurationVersion(created.id, 3), null);
    });

    it('lists many versions newest first, with offset, limit and the total', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const created = await store.createConfiguration({ accountId: account.id, name: 'base', content: { n: 1 }, createdBy: 'editor-1' });
      for (let version = 1; version < 12; version += 1)
        await store.updateConfigurationContent(created.id, version, { n: version + 1 }, `editor-${version + 1}`);
      assert.equal((await store.getConfiguration(created.id))?.version, 12);
      const all = await store.listConfigurationVersions(created.id);
      assert.equal(all.total, 12);
      assert.deepEqual(
        all.items.map((version) => [version.version, version.content['n'], version.createdBy]),
        Array.from({ length: 12 }, (_, index) => [12 - index, 12 - index, `editor-${12 - index}`]),
      );
      assert.deepEqual(await store.listConfigurationVersions(created.id, { offset: 10, limit: 5 }), {
        items: all.items.slice(10),
        total: 12,
        offset: 10,
        limit: 5,
      });
      assert.deepEqual(await store.listConfigurationVersions(created.id, { offset: 3, limit: 2 }), {
        items: all.items.slice(3, 5),
        total: 12,
        offset: 3,
        limit: 2,
      });
    });

    it('refuses a stale expected version with VERSION_CONFLICT and changes nothing', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const created = await store.createConfiguration({ accountId: account.id, name: 'base', content: { v: 1 }, createdBy: 'alice' });
      const current = await store.updateConfigurationContent(created.id, 1, { v: 2 }, 'bob');
      const versions = await store.listConfigurationVersions(created.id);
      await rejectsWith(store.updateConfigurationContent(created.id, 1, { v: 'stale' }, 'carol'), 'VERSION_CONFLICT', refusal.staleVersion);
      await rejectsWith(store.updateConfigurationContent(created.id, 3, { v: 'ahead' }, 'carol'), 'VERSION_CONFLICT', refusal.staleVersion);
      assert.deepEqual(await store.getConfiguration(created.id), current);
      assert.deepEqual(await store.listConfigurationVersions(created.id), versions);
      assert.equal(versions.total, 2);
      assert.equal(await store.getConfigurationVersion(created.id, 3), null);
    });

    it('lets exactly one of concurrent updates with the same expected version win, across handles', async (t) => {
      const { store, openAnother } = await fresh(t);
      const other = await openAnother();
      t.after(() => other.close());
      const account = await store.createAccount(newAccount());
      const created = await store.createConfiguration({ accountId: account.id, name: 'base', content: { writer: 'none' } });
      for (const contenders of [2, 6]) {
        const expected = (await store.getConfiguration(created.id))?.version ?? 0;
        const outcomes = await Promise.allSettled(
          Array.from({ length: contenders }, (_, index) =>
            (index % 2 ? other : store).updateConfigurationContent(created.id, expected, { writer: `${contenders}-${index}` }, `writer-${index}`),
          ),
        );
        const won = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
        const codes = outcomes.flatMap((outcome) =>
          outcome.status === 'rejected' ? [outcome.reason instanceof PlatformError ? outcome.reason.code : String(outcome.reason)] : [],
        );
        assert.equal(won.length, 1, `one of ${contenders} wins`);
        assert.deepEqual(codes, Array(contenders - 1).fill('VERSION_CONFLICT'));
        const winner = won[0];
        assert.ok(winner);
        assert.equal(winner.version, expected + 1);
        assert.deepEqual(await store.getConfiguration(created.id), winner);
        assert.deepEqual(await other.getConfiguration(created.id), winner);
        assert.deepEqual((await store.getConfigurationVersion(created.id, expected + 1))?.content, winner.content);
        assert.equal((await store.listConfigurationVersions(created.id)).total, expected + 1, 'the losers left no version behind');
      }
    });

    it('answers NOT_FOUND for a configuration that does not exist, and no version of it', async (t) => {
      const { store } = await fresh(t);
      await rejectsWith(store.updateConfigurationContent('no-such-id', 1, { a: 1 }, 'bob'), 'NOT_FOUND', refusal.configurationNotFound);
      await rejectsWith(store.listConfigurationVersions('no-such-id'), 'NOT_FOUND', refusal.configurationNotFound);
      assert.equal(await store.getConfigurationVersion('no-such-id', 1), null);
    });

    it('deletes the versions with the configuration, leaving those of others', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const doomed = await store.createConfiguration({ accountId: account.id, name: 'doomed', content: { v: 1 } });
      await store.updateConfigurationContent(doomed.id, 1, { v: 2 }, 'bob');
      const kept = await store.createConfiguration({ accountId: account.id, name: 'kept', content: { k: 1 }, createdBy: 'alice' });
      const keptNow = await store.updateConfigurationContent(kept.id, 1, { k: 2 }, 'bob');
      const keptVersions = await store.listConfigurationVersions(kept.id);
      await store.deleteConfiguration(doomed.id);
      assert.equal(await store.getConfiguration(doomed.id), null);
      assert.equal(await store.getConfigurationVersion(doomed.id, 1), null);
      assert.equal(await store.getConfigurationVersion(doomed.id, 2), null);
      await rejectsWith(store.listConfigurationVersions(doomed.id), 'NOT_FOUND', refusal.configurationNotFound);
      await rejectsWith(store.updateConfigurationContent(doomed.id, 2, { v: 3 }, 'bob'), 'NOT_FOUND', refusal.configurationNotFound);
      assert.deepEqual(await store.getConfiguration(kept.id), keptNow);
      assert.deepEqual(await store.listConfigurationVersions(kept.id), keptVersions);
      assert.equal(keptVersions.total, 2);
    });

    it('keeps every version after close and reopen, and the next edit goes on from there', async (t) => {
      const { store, openAnother } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const created = await store.createConfiguration({ accountId: account.id, name: 'base', content: { v: 1 }, createdBy: 'alice' });
      const updated = await store.updateConfigurationContent(created.id, 1, { v: 2 }, 'bob');
      const versions = await store.listConfigurationVersions(created.id);
      await store.close();
      const reopened = await openAnother();
      t.after(() => reopened.close());
      assert.deepEqual(await reopened.getConfiguration(created.id), updated);
      assert.deepEqual(await reopened.listConfigurationVersions(created.id), versions);
      const third = await reopened.updateConfigurationContent(created.id, 2, { v: 3 }, 'carol');
      assert.equal(third.version, 3);
      assert.deepEqual(
        (await reopened.listConfigurationVersions(created.id)).items.map((version) => [version.version, version.createdBy]),
        [
          [3, 'carol'],
          [2, 'bob'],
          [1, 'alice'],
        ],
      );
    });
  });
}
