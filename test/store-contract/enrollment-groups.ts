import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EnrollmentGroup } from '../../store/enrollment-types.ts';
import { refusal } from '../../store/records.ts';
import { newEnrollmentGroup, newManufacturerCa, newProvisioningCode } from './enrollment-fixtures.ts';
import { ids, inStoreOrder, newAccount, nextMillisecond, rejectsWith, type FreshStore } from './fixtures.ts';

/** Enrollment groups (issue 18): unique name per account, on an existing CA, lists normalized, compare-and-set updates. */
export function enrollmentGroupContract(fresh: FreshStore): void {
  describe('enrollment groups', () => {
    it('creates a group with version 1, tags and lists sorted without repeats, serials lower-case', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const ca = await store.createManufacturerCa(newManufacturerCa());
      const input = newEnrollmentGroup(account.id, ca.id, {
        category: 'meters',
        configurationId: 'configuration-1',
        bundleIds: ['b2', 'b1'],
        tags: ['roof', 'east', 'roof'],
        allowSerials: ['0B', '0a', '0b'],
        allowClientIds: ['dev-2', 'dev-1', 'dev-2'],
        denySerials: ['FF'],
        denyClientIds: ['bad', 'bad'],
        validFrom: 1000,
        validUntil: 2000,
        reprovisionAllowed: true,
        provisionBrokerUrl: 'mqtts://other.example:8883',
        enabled: false,
      });
      const created = await store.createEnrollmentGroup({ ...input, extra: 'dropped' } as typeof input);
      assert.deepEqual(
        { ...created },
        {
          ...input,
          tags: ['east', 'roof'],
          allowSerials: ['0a', '0b'],
          allowClientIds: ['dev-1', 'dev-2'],
          denySerials: ['ff'],
          denyClientIds: ['bad'],
          id: created.id,
          createdOn: created.createdOn,
          modifiedOn: created.createdOn,
          version: 1,
        },
      );
      assert.deepEqual(await store.getEnrollmentGroup(created.id), created);
      assert.equal(await store.getEnrollmentGroup('no-such-id'), null);
    });

    it('refuses a group for an unknown account or CA (NOT_FOUND) and a name the account has (DUPLICATE), allowing it in another account', async (t) => {
      const { store } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const ca = await store.createManufacturerCa(newManufacturerCa());
      await rejectsWith(store.createEnrollmentGroup(newEnrollmentGroup('no-such-account', ca.id)), 'NOT_FOUND', refusal.accountNotFound);
      await rejectsWith(store.createEnrollmentGroup(newEnrollmentGroup(one.id, 'no-such-ca')), 'NOT_FOUND', refusal.manufacturerCaNotFound);
      const first = await store.createEnrollmentGroup(newEnrollmentGroup(one.id, ca.id, { name: 'factory' }));
      await rejectsWith(store.createEnrollmentGroup(newEnrollmentGroup(one.id, ca.id, { name: 'factory' })), 'DUPLICATE', refusal.enrollmentGroupNameTaken);
      const elsewhere = await store.createEnrollmentGroup(newEnrollmentGroup(two.id, ca.id, { name: 'factory' }));
      assert.deepEqual(ids((await store.listEnrollmentGroups()).items), ids(inStoreOrder([first, elsewhere])));
    });

    it('lists groups oldest first, by account, CA and category (alone or together), with offset, limit and the total', async (t) => {
      const { store } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const [caA, caB] = [await store.createManufacturerCa(newManufacturerCa()), await store.createManufacturerCa(newManufacturerCa())];
      const made: EnrollmentGroup[] = [];
      for (const [account, ca, category] of [
        [one, caA, 'meters'],
        [two, caA, 'meters'],
        [one, caB, null],
        [one, caA, null],
        [two, caB, 'meters'],
      ] as const) {
        made.push(await store.createEnrollmentGroup(newEnrollmentGroup(account.id, ca.id, { category })));
        await nextMillisecond();
      }
      const listed = async (filter: Parameters<typeof store.listEnrollmentGroups>[0]) => {
        const page = await store.listEnrollmentGroups(filter);
        return { ids: ids(page.items), total: page.total };
      };
      const pick = (...indexes: number[]) => ({ ids: indexes.map((index) => made[index]!.id), total: indexes.length });
      assert.deepEqual(await listed({}), pick(0, 1, 2, 3, 4));
      assert.deepEqual(await listed({ accountId: one.id }), pick(0, 2, 3));
      assert.deepEqual(await listed({ manufacturerCaId: caA.id }), pick(0, 1, 3));
      assert.deepEqual(await listed({ accountId: two.id, manufacturerCaId: caB.id }), pick(4));
      assert.deepEqual(await listed({ accountId: one.id, category: 'meters' }), pick(0));
      assert.deepEqual(await listed({ category: 'meters' }), pick(0, 1, 4));
      assert.deepEqual(await listed({ manufacturerCaId: 'no-such-ca' }), pick());
      const page = await store.listEnrollmentGroups({ offset: 1, limit: 2 });
      assert.deepEqual({ ...page, items: ids(page.items) }, { items: [made[1]!.id, made[2]!.id], total: 5, offset: 1, limit: 2 });
      assert.deepEqual(await store.listEnrollmentGroups({ accountId: one.id, limit: 0 }), { items: [], total: 3, offset: 0, limit: 0 });
      assert.deepEqual((await store.listEnrollmentGroups({ manufacturerCaId: caA.id })).items, [made[0], made[1], made[3]]);
    });

    it('updates by compare-and-set on version: a patch keeps what it leaves out, null clears, lists are normalized', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const ca = await store.createManufacturerCa(newManufacturerCa());
      const group = await store.createEnrollmentGroup(
        newEnrollmentGroup(account.id, ca.id, { category: 'meters', tags: ['a'], validFrom: 5, provisionBrokerUrl: 'mqtts://x.example:8883' }),
      );
      await nextMillisecond();
      const updated = await store.updateEnrollmentGroup(group.id, 1, {
        name: 'renamed',
        category: null,
        validFrom: null,
        tags: ['z', 'y', 'z'],
        allowSerials: ['AA', 'aa'],
        denyClientIds: ['d2', 'd1'],
        reprovisionAllowed: true,
        enabled: false,
      });
      assert.deepEqual(
        { ...updated },
        {
          ...group,
          name: 'renamed',
          category: null,
          validFrom: null,
          tags: ['y', 'z'],
          allowSerials: ['aa'],
          denyClientIds: ['d1', 'd2'],
          reprovisionAllowed: true,
          enabled: false,
          modifiedOn: updated.modifiedOn,
          version: 2,
        },
      );
      assert.ok(updated.modifiedOn > group.modifiedOn);
      assert.deepEqual(await store.getEnrollmentGroup(group.id), updated);
      await rejectsWith(store.updateEnrollmentGroup(group.id, 1, { enabled: true }), 'VERSION_CONFLICT', refusal.staleVersion);
      await rejectsWith(store.updateEnrollmentGroup('no-such-id', 1, { enabled: true }), 'NOT_FOUND', refusal.enrollmentGroupNotFound);
      assert.deepEqual(await store.getEnrollmentGroup(group.id), updated);
    });

    it('renames within the account only to a free name, freeing the old one', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const ca = await store.createManufacturerCa(newManufacturerCa());
      const [first, second] = [
        await store.createEnrollmentGroup(newEnrollmentGroup(account.id, ca.id, { name: 'first' })),
        await store.createEnrollmentGroup(newEnrollmentGroup(account.id, ca.id, { name: 'second' })),
      ];
      await rejectsWith(store.updateEnrollmentGroup(second.id, 1, { name: 'first' }), 'DUPLICATE', refusal.enrollmentGroupNameTaken);
      assert.deepEqual(await store.getEnrollmentGroup(second.id), second);
      await store.updateEnrollmentGroup(first.id, 1, { name: 'third' });
      const again = await store.createEnrollmentGroup(newEnrollmentGroup(account.id, ca.id, { name: 'first' }));
      await rejectsWith(store.createEnrollmentGroup(newEnrollmentGroup(account.id, ca.id, { name: 'third' })), 'DUPLICATE', refusal.enrollmentGroupNameTaken);
      assert.equal((await store.listEnrollmentGroups({ accountId: account.id })).total, 3);
      assert.notEqual(again.id, first.id);
    });

    it('deletes a group (also one renamed since), freeing its name; NOT_FOUND when absent', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const ca = await store.createManufacturerCa(newManufacturerCa());
      const group = await store.createEnrollmentGroup(newEnrollmentGroup(account.id, ca.id, { name: 'before' }));
      await store.updateEnrollmentGroup(group.id, 1, { name: 'after' });
      await store.deleteEnrollmentGroup(group.id);
      assert.equal(await store.getEnrollmentGroup(group.id), null);
      assert.deepEqual(await store.listEnrollmentGroups({ manufacturerCaId: ca.id }), { items: [], total: 0, offset: 0, limit: 50 });
      await rejectsWith(store.deleteEnrollmentGroup(group.id), 'NOT_FOUND', refusal.enrollmentGroupNotFound);
      await store.createEnrollmentGroup(newEnrollmentGroup(account.id, ca.id, { name: 'after' }));
      await store.createEnrollmentGroup(newEnrollmentGroup(account.id, ca.id, { name: 'before' }));
    });
  });

  describe('accounts with enrollment groups or provisioning codes', () => {
    it('refuses deleting an account while it has enrollment groups, then while it has provisioning codes (used ones too)', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const ca = await store.createManufacturerCa(newManufacturerCa());
      const group = await store.createEnrollmentGroup(newEnrollmentGroup(account.id, ca.id));
      const [code] = await store.createProvisioningCodes([newProvisioningCode(account.id)]);
      await rejectsWith(store.deleteAccount(account.id), 'DUPLICATE', refusal.accountHasEnrollmentGroups);
      await store.deleteEnrollmentGroup(group.id);
      await store.markProvisioningCodeRegistered(code!.id, Date.now());
      await rejectsWith(store.deleteAccount(account.id), 'DUPLICATE', refusal.accountHasProvisioningCodes);
      assert.deepEqual(await store.getAccount(account.id), account);
      await store.deleteProvisioningCode(code!.id);
      await store.deleteAccount(account.id);
      assert.equal(await store.getAccount(account.id), null);
    });
  });
}
