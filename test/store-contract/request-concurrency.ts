import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PlatformError } from '../../errors/platform-error.ts';
import type { ProvisionStore } from '../../store/types.ts';
import { newAccount, newRequest, type FreshStore } from './fixtures.ts';

/** Settles every attempt and sorts the outcomes: fulfilled values and the codes of rejections. */
async function race<T>(attempts: readonly Promise<T>[]): Promise<{ won: T[]; codes: string[] }> {
  const settled = await Promise.allSettled(attempts);
  const won = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  const codes = settled.flatMap((outcome) => {
    if (outcome.status === 'fulfilled') return [];
    return [outcome.reason instanceof PlatformError ? outcome.reason.code : String(outcome.reason)];
  });
  return { won, codes };
}

/** Every consumer read version v, and now tries to complete the request with it. */
function consume(store: ProvisionStore, id: string, version: number, worker: number) {
  return store.updateProvisionRequest(id, version, { modifiedBy: `worker-${worker}`, jobStatus: 'COMPLETED', status: 'DISABLED' });
}

export function requestConcurrencyContract(fresh: FreshStore): void {
  describe('concurrent consumers of one provision request', () => {
    it('lets exactly one of two concurrent consumers win; the other gets VERSION_CONFLICT', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const request = await store.createProvisionRequest(newRequest(account.id));
      const read = await store.getProvisionRequest(request.id);
      assert.ok(read);
      const { won, codes } = await race([consume(store, read.id, read.version, 1), consume(store, read.id, read.version, 2)]);
      assert.equal(won.length, 1);
      assert.deepEqual(codes, ['VERSION_CONFLICT']);
      assert.deepEqual(await store.getProvisionRequest(request.id), won[0]);
      assert.equal(await store.findEnabledProvisionRequest(request.clientId), null);
    });

    it('lets exactly one of twenty concurrent consumers win', async (t) => {
      const { store } = await fresh(t);
      const account = await store.createAccount(newAccount());
      const request = await store.createProvisionRequest(newRequest(account.id));
      const attempts = Array.from({ length: 20 }, (_, worker) => consume(store, request.id, request.version, worker));
      const { won, codes } = await race(attempts);
      assert.equal(won.length, 1);
      assert.deepEqual(codes, Array(19).fill('VERSION_CONFLICT'));
      const stored = await store.getProvisionRequest(request.id);
      assert.deepEqual(stored, won[0]);
      assert.equal(stored?.version, 2);
    });

    it('lets exactly one of several workers on separate connections win', async (t) => {
      const { store, openAnother } = await fresh(t);
      const workers = [store, await openAnother(), await openAnother(), await openAnother()];
      t.after(() => Promise.all(workers.slice(1).map((worker) => worker.close())));
      const account = await store.createAccount(newAccount());
      const request = await store.createProvisionRequest(newRequest(account.id));
      const attempts = workers.flatMap((worker, index) => [0, 1, 2].map((round) => consume(worker, request.id, 1, index * 3 + round)));
      const { won, codes } = await race(attempts);
      assert.equal(won.length, 1);
      assert.deepEqual(codes, Array(attempts.length - 1).fill('VERSION_CONFLICT'));
    });

    it('lets exactly one of concurrent ENABLED creations of one clientId in different accounts succeed', async (t) => {
      const { store, openAnother } = await fresh(t);
      const other = await openAnother();
      t.after(() => other.close());
      const accounts = await Promise.all(Array.from({ length: 6 }, () => store.createAccount(newAccount())));
      const attempts = accounts.map((account, index) =>
        (index % 2 === 0 ? store : other).createProvisionRequest(newRequest(account.id, { clientId: 'contested-device' })),
      );
      const { won, codes } = await race(attempts);
      assert.equal(won.length, 1);
      assert.deepEqual(codes, Array(5).fill('DUPLICATE'));
      assert.deepEqual(await store.findEnabledProvisionRequest('contested-device'), won[0]);
      assert.equal((await store.listProvisionRequests({ clientIds: ['contested-device'] })).total, 1);
    });

    it('never leaves a request behind when its account is deleted concurrently', async (t) => {
      const { store, openAnother } = await fresh(t);
      const other = await openAnother();
      t.after(() => other.close());
      const account = await store.createAccount(newAccount());
      const { won } = await race<unknown>([other.createProvisionRequest(newRequest(account.id)), store.deleteAccount(account.id)]);
      const accountLeft = await store.getAccount(account.id);
      const requests = await store.listProvisionRequests({ accountId: account.id });
      assert.equal(won.length, 1, 'either the request or the deletion wins');
      assert.equal(requests.total, accountLeft ? 1 : 0);
    });
  });
}
