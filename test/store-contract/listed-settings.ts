import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type FreshStore } from './fixtures.ts';

/** listSettings and replaceSetting: what API token records (api/api-tokens.ts) are listed and changed with. */
export function listedSettingsContract(fresh: FreshStore): void {
  describe('listed and replaced settings', () => {
    it('lists the settings of one prefix in key order, and only those', async (t) => {
      const { store } = await fresh(t);
      assert.deepEqual(await store.listSettings('api-token:'), []);
      await store.setSettingIfAbsent('api-token:b', '2');
      await store.setSettingIfAbsent('api-token:a', '1');
      await store.setSettingIfAbsent('api-token', 'no colon');
      await store.setSettingIfAbsent('admin-token-hash', 'x');
      await store.setSettingIfAbsent('api-token:*?[', 'glob characters are plain');
      assert.deepEqual(await store.listSettings('api-token:'), [
        { key: 'api-token:*?[', value: 'glob characters are plain' },
        { key: 'api-token:a', value: '1' },
        { key: 'api-token:b', value: '2' },
      ]);
      assert.deepEqual(await store.listSettings('api-token:*'), [{ key: 'api-token:*?[', value: 'glob characters are plain' }]);
      await store.deleteSetting('api-token:a');
      assert.deepEqual(
        (await store.listSettings('api-token:')).map((entry) => entry.key),
        ['api-token:*?[', 'api-token:b'],
      );
    });

    it('replaces a value only while it is the expected one', async (t) => {
      const { store, openAnother } = await fresh(t);
      assert.equal(await store.replaceSetting('absent', '', 'x'), false);
      assert.equal(await store.getSetting('absent'), null, 'an absent setting is not created');
      await store.setSettingIfAbsent('token', 'v1');
      assert.equal(await store.replaceSetting('token', 'v0', 'v2'), false);
      assert.equal(await store.getSetting('token'), 'v1');
      assert.equal(await store.replaceSetting('token', 'v1', 'v2'), true);
      const other = await openAnother();
      t.after(() => other.close());
      assert.equal(await other.getSetting('token'), 'v2', 'another handle sees the new value');
      const answers = await Promise.all(Array.from({ length: 10 }, (_, index) => (index % 2 ? other : store).replaceSetting('token', 'v2', `v3-${index}`)));
      assert.equal(answers.filter(Boolean).length, 1, 'one of many concurrent replacements from the same value wins');
    });
  });
}
