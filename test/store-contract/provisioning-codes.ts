import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProvisioningCode } from '../../store/enrollment-types.ts';
import { refusal } from '../../store/records.ts';
import { newProvisioningCode } from './enrollment-fixtures.ts';
import { ids, newAccount, nextMillisecond, rejectsWith, type FreshStore } from './fixtures.ts';

/** Provisioning codes (issue 18): a hash unique while PENDING, bound to one device, REGISTERED without the hash, expired ones swept. */
export function provisioningCodeContract(fresh: FreshStore): void {
  describe('provisioning codes', () => {
    it('creates codes PENDING, in input order, found by id and by hash', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const inputs = [newProvisioningCode(account.id, { category: 'meters' }), newProvisioningCode(account.id)];
      const created = await store.createProvisioningCodes(inputs.map((input) => ({ ...input, extra: 'dropped' }) as typeof input));
      assert.equal(created.length, 2);
      created.forEach((code, index) => {
        assert.deepEqual(
          { ...code },
          {
            ...inputs[index],
            id: code.id,
            status: 'PENDING',
            clientId: null,
            provisionRequestId: null,
            createdOn: code.createdOn,
            registeredOn: null,
          },
        );
      });
      assert.notEqual(created[0]!.id, created[1]!.id);
      for (const code of created) {
        assert.deepEqual(await store.getProvisioningCode(code.id), code);
        assert.deepEqual(await store.findProvisioningCodeByHash(code.codeHash!), code);
      }
      assert.equal(await store.getProvisioningCode('no-such-id'), null);
      assert.equal(await store.findProvisioningCodeByHash('no-such-hash'), null);
      assert.deepEqual(await store.createProvisioningCodes([]), []);
    });

    it('creates all or nothing: a taken hash, a hash repeated in the batch or an unknown account refuses the whole batch', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const [taken] = await store.createProvisioningCodes([newProvisioningCode(account.id)]);
      const fresh1 = newProvisioningCode(account.id);
      await rejectsWith(
        store.createProvisioningCodes([fresh1, newProvisioningCode(account.id, { codeHash: taken!.codeHash })]),
        'DUPLICATE',
        refusal.provisioningCodeHashTaken,
      );
      const twice = newProvisioningCode(account.id);
      await rejectsWith(store.createProvisioningCodes([twice, { ...twice }]), 'DUPLICATE', refusal.provisioningCodeHashTaken);
      await rejectsWith(
        store.createProvisioningCodes([newProvisioningCode(account.id), newProvisioningCode('no-such-account')]),
        'NOT_FOUND',
        refusal.accountNotFound,
      );
      assert.equal(await store.findProvisioningCodeByHash(fresh1.codeHash!), null, 'nothing of a refused batch was kept');
      assert.deepEqual(ids((await store.listProvisioningCodes()).items), [taken!.id]);
    });

    it('binds a PENDING code to the first device: true for that device (again), false for another, nothing changed then', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const [code] = await store.createProvisioningCodes([newProvisioningCode(account.id)]);
      assert.equal(await store.bindProvisioningCode(code!.id, 'device-1', 'request-1'), true);
      const bound = { ...code!, clientId: 'device-1', provisionRequestId: 'request-1' };
      assert.deepEqual(await store.getProvisioningCode(code!.id), bound);
      assert.equal(await store.bindProvisioningCode(code!.id, 'device-1', 'request-1'), true, 'the same device again');
      assert.equal(await store.bindProvisioningCode(code!.id, 'device-2', 'request-2'), false, 'another device');
      assert.deepEqual(await store.getProvisioningCode(code!.id), bound);
      assert.equal(await store.bindProvisioningCode(code!.id, 'device-1', 'request-3'), true, 'the device came back with a new request');
      assert.equal((await store.getProvisioningCode(code!.id))?.provisionRequestId, 'request-3');
      assert.deepEqual(await store.findProvisioningCodeByHash(code!.codeHash!), { ...bound, provisionRequestId: 'request-3' });
      assert.equal(await store.bindProvisioningCode('no-such-id', 'device-1', 'request-1'), false);
    });

    it('binds a code to exactly one of two devices racing from two store handles', async (t) => {
      const { store, openAnother } = await fresh(t);
      const other = await openAnother();
      t.after(() => other.close());
      const account = await store.createAccount(newAccount());
      const codes = await store.createProvisioningCodes(Array.from({ length: 5 }, () => newProvisioningCode(account.id)));
      for (const code of codes) {
        const outcomes = await Promise.all([
          store.bindProvisioningCode(code.id, 'device-a', 'request-a'),
          other.bindProvisioningCode(code.id, 'device-b', 'request-b'),
        ]);
        assert.equal(outcomes.filter(Boolean).length, 1, `one of ${String(outcomes)} wins`);
        const winner = outcomes[0] ? 'device-a' : 'device-b';
        assert.equal((await store.getProvisioningCode(code.id))?.clientId, winner);
      }
    });

    it('marks a PENDING code REGISTERED once, removing its hash: no longer found by it, no longer bound', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const [code] = await store.createProvisioningCodes([newProvisioningCode(account.id)]);
      await store.bindProvisioningCode(code!.id, 'device-1', 'request-1');
      const now = Date.now();
      assert.equal(await store.markProvisioningCodeRegistered(code!.id, now), true);
      const registered: ProvisioningCode = {
        ...code!,
        clientId: 'device-1',
        provisionRequestId: 'request-1',
        status: 'REGISTERED',
        codeHash: null,
        registeredOn: now,
      };
      assert.deepEqual(await store.getProvisioningCode(code!.id), registered);
      assert.equal(await store.findProvisioningCodeByHash(code!.codeHash!), null);
      assert.equal(await store.markProvisioningCodeRegistered(code!.id, now + 1), false, 'not PENDING any more');
      assert.equal(await store.bindProvisioningCode(code!.id, 'device-1', 'request-1'), false, 'a used code admits nobody, its device neither');
      assert.deepEqual(await store.getProvisioningCode(code!.id), registered);
      assert.equal(await store.markProvisioningCodeRegistered('no-such-id', now), false);
      const [reused] = await store.createProvisioningCodes([newProvisioningCode(account.id, { codeHash: code!.codeHash })]);
      assert.deepEqual(await store.findProvisioningCodeByHash(code!.codeHash!), reused, 'the hash is free again');
    });

    it('deletes the expired PENDING codes only (expiresOn <= now), answering how many', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const now = Date.now();
      const [expired, dueNow, valid, used] = await store.createProvisioningCodes([
        newProvisioningCode(account.id, { expiresOn: now - 1000 }),
        newProvisioningCode(account.id, { expiresOn: now }),
        newProvisioningCode(account.id, { expiresOn: now + 1 }),
        newProvisioningCode(account.id, { expiresOn: now - 1000 }),
      ]);
      await store.markProvisioningCodeRegistered(used!.id, now - 2000);
      await store.bindProvisioningCode(expired!.id, 'device-1', 'request-1');
      assert.equal(await store.deleteExpiredProvisioningCodes(now), 2);
      assert.equal(await store.getProvisioningCode(expired!.id), null);
      assert.equal(await store.getProvisioningCode(dueNow!.id), null);
      assert.equal(await store.findProvisioningCodeByHash(expired!.codeHash!), null);
      assert.deepEqual(ids((await store.listProvisioningCodes({ accountId: account.id })).items), [valid!.id, used!.id].sort());
      assert.equal(await store.deleteExpiredProvisioningCodes(now), 0);
      assert.equal(await store.deleteExpiredProvisioningCodes(now + 1), 1);
      assert.deepEqual(ids((await store.listProvisioningCodes()).items), [used!.id]);
    });

    it('sweeps more expired codes than one batch holds', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const past = Date.now() - 1000;
      for (let batch = 0; batch < 2; batch += 1) {
        await store.createProvisioningCodes(Array.from({ length: 600 }, () => newProvisioningCode(account.id, { expiresOn: past })));
      }
      assert.equal(await store.deleteExpiredProvisioningCodes(Date.now()), 1200);
      assert.equal((await store.listProvisioningCodes({ limit: 0 })).total, 0);
    });

    it('lists codes oldest first, by account, status and category, with offset, limit and the total', async (t) => {
      const { store } = await fresh(t);
      const [one, two] = [await store.createAccount(newAccount()), await store.createAccount(newAccount())];
      const made: ProvisioningCode[] = [];
      for (const [account, category] of [
        [one, 'meters'],
        [two, null],
        [one, null],
        [one, 'meters'],
      ] as const) {
        made.push(...(await store.createProvisioningCodes([newProvisioningCode(account.id, { category })])));
        await nextMillisecond();
      }
      await store.markProvisioningCodeRegistered(made[3]!.id, Date.now());
      const listed = async (filter: Parameters<typeof store.listProvisioningCodes>[0]) => {
        const page = await store.listProvisioningCodes(filter);
        return { ids: ids(page.items), total: page.total };
      };
      const pick = (...indexes: number[]) => ({ ids: indexes.map((index) => made[index]!.id), total: indexes.length });
      assert.deepEqual(await listed({}), pick(0, 1, 2, 3));
      assert.deepEqual(await listed({ accountId: one.id }), pick(0, 2, 3));
      assert.deepEqual(await listed({ status: 'PENDING' }), pick(0, 1, 2));
      assert.deepEqual(await listed({ accountId: one.id, status: 'REGISTERED' }), pick(3));
      assert.deepEqual(await listed({ accountId: one.id, category: 'meters', status: 'PENDING' }), pick(0));
      assert.deepEqual(await listed({ accountId: 'no-such-account' }), pick());
      const page = await store.listProvisioningCodes({ offset: 1, limit: 2 });
      assert.deepEqual({ ...page, items: ids(page.items) }, { items: [made[1]!.id, made[2]!.id], total: 4, offset: 1, limit: 2 });
      assert.deepEqual(await store.listProvisioningCodes({ status: 'PENDING', limit: 0 }), { items: [], total: 3, offset: 0, limit: 0 });
    });

    it('deletes a code, PENDING (its hash freed) or used; NOT_FOUND when absent', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const [pending, used] = await store.createProvisioningCodes([newProvisioningCode(account.id), newProvisioningCode(account.id)]);
      await store.markProvisioningCodeRegistered(used!.id, Date.now());
      await store.deleteProvisioningCode(pending!.id);
      await store.deleteProvisioningCode(used!.id);
      assert.equal(await store.getProvisioningCode(pending!.id), null);
      assert.equal(await store.findProvisioningCodeByHash(pending!.codeHash!), null);
      assert.equal((await store.listProvisioningCodes()).total, 0);
      await rejectsWith(store.deleteProvisioningCode(pending!.id), 'NOT_FOUND', refusal.provisioningCodeNotFound);
      await store.createProvisioningCodes([newProvisioningCode(account.id, { codeHash: pending!.codeHash })]);
      assert.equal(await store.deleteExpiredProvisioningCodes(Date.now() + 30 * 24 * 3600 * 1000), 1, 'the deleted ones are not swept again');
    });
  });
}
