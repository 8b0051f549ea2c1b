import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ProvisionRequest, ProvisionRequestFilter, ProvisionStore } from '../../store/types.ts';
import { ids, inStoreOrder, newAccount, newRequest, nextMillisecond, type OpenedStore, type OpenStore } from './fixtures.ts';

/**
 * One store seeded once: eight requests in two accounts, each created in its own millisecond,
 * with a mix of statuses and job statuses. Expected pages are computed from the seed.
 */
export function requestListingContract(open: OpenStore): void {
  describe('listing provision requests', () => {
    let opened: OpenedStore;
    let store: ProvisionStore;
    let seeded: ProvisionRequest[] = [];
    let accountA = '';
    let accountB = '';

    before(async () => {
      opened = await open();
      store = opened.store;
      accountA = (await store.createAccount(newAccount())).id;
      accountB = (await store.createAccount(newAccount())).id;
      const plan = [
        { account: accountA, status: 'ENABLED', jobStatus: 'CREATED' },
        { account: accountA, status: 'DISABLED', jobStatus: 'COMPLETED' },
        { account: accountB, status: 'ENABLED', jobStatus: 'RUNNING' },
        { account: accountA, status: 'ENABLED', jobStatus: 'RUNNING' },
        { account: accountB, status: 'DISABLED', jobStatus: 'FAILED' },
        { account: accountA, status: 'ENABLED', jobStatus: 'CREATED' },
        { account: accountB, status: 'ENABLED', jobStatus: 'COMPLETED' },
        { account: accountA, status: 'DISABLED', jobStatus: 'ABANDONED' },
      ] as const;
      seeded = [];
      for (const [index, step] of plan.entries()) {
        await nextMillisecond();
        // Some requests are long expired: listing does not care about expiry.
        const expiresOn = index % 3 === 0 ? 5000 : Date.now() + 60_000;
        const created = await store.createProvisionRequest(newRequest(step.account, { status: step.status, expiresOn, clientId: `list-device-${index}` }));
        seeded.push(
          step.jobStatus === 'CREATED' ? created : await store.updateProvisionRequest(created.id, 1, { modifiedBy: 'seed', jobStatus: step.jobStatus }),
        );
      }
    });

    after(() => opened.cleanup());

    function expected(keep: (request: ProvisionRequest) => boolean): ProvisionRequest[] {
      return inStoreOrder(seeded.filter(keep));
    }

    async function assertListing(filter: ProvisionRequestFilter, keep: (request: ProvisionRequest) => boolean): Promise<void> {
      const page = await store.listProvisionRequests(filter);
      const all = expected(keep);
      assert.deepEqual(page.items, all.slice(filter.offset ?? 0, (filter.offset ?? 0) + (filter.limit ?? 50)));
      assert.equal(page.total, all.length);
    }

    it('lists every request in creation order with the total', async () => {
      const page = await store.listProvisionRequests();
      assert.deepEqual(ids(page.items), ids(inStoreOrder(seeded)));
      assert.deepEqual({ ...page, items: [] }, { items: [], total: 8, offset: 0, limit: 50 });
    });

    it('filters by account', async () => {
      await assertListing({ accountId: accountB }, (request) => request.accountId === accountB);
      await assertListing({ accountId: 'no-such-account' }, () => false);
    });

    it('filters by clientIds', async () => {
      const clientIds = ['list-device-1', 'list-device-4', 'not-there'];
      await assertListing({ clientIds }, (request) => clientIds.includes(request.clientId));
    });

    it('filters by statuses', async () => {
      await assertListing({ statuses: ['DISABLED'] }, (request) => request.status === 'DISABLED');
      await assertListing({ statuses: ['ENABLED', 'DISABLED'] }, () => true);
    });

    it('filters by job statuses', async () => {
      const jobStatuses = ['RUNNING', 'COMPLETED'] as const;
      await assertListing({ jobStatuses }, (request) => (jobStatuses as readonly string[]).includes(request.jobStatus));
    });

    it('filters by a createdOn range, both ends included, whatever the expiry', async () => {
      const sorted = inStoreOrder(seeded);
      const startDate = sorted[2]?.createdOn ?? 0;
      const endDate = sorted[5]?.createdOn ?? 0;
      await assertListing({ startDate, endDate }, (request) => request.createdOn >= startDate && request.createdOn <= endDate);
      await assertListing({ startDate }, (request) => request.createdOn >= startDate);
      await assertListing({ endDate }, (request) => request.createdOn <= endDate);
    });

    it('combines filters', async () => {
      const startDate = inStoreOrder(seeded)[1]?.createdOn ?? 0;
      await assertListing(
        { accountId: accountA, statuses: ['ENABLED'], jobStatuses: ['CREATED', 'RUNNING'], startDate },
        (request) =>
          request.accountId === accountA &&
          request.status === 'ENABLED' &&
          ['CREATED', 'RUNNING'].includes(request.jobStatus) &&
          request.createdOn >= startDate,
      );
    });

    it('treats empty filter lists as no filter', async () => {
      await assertListing({ clientIds: [], statuses: [], jobStatuses: [] }, () => true);
    });

    it('pages with offset and limit, the total counting every match', async () => {
      const pages = [];
      for (let offset = 0; offset < 8; offset += 3) {
        const page = await store.listProvisionRequests({ offset, limit: 3 });
        assert.equal(page.total, 8);
        assert.equal(page.offset, offset);
        assert.equal(page.limit, 3);
        pages.push(...page.items);
      }
      assert.deepEqual(ids(pages), ids(inStoreOrder(seeded)));
      const beyond = await store.listProvisionRequests({ offset: 100, limit: 3 });
      assert.deepEqual(beyond, { items: [], total: 8, offset: 100, limit: 3 });
    });

    it('pages filtered results, the total counting every match', async () => {
      await assertListing({ accountId: accountA, offset: 1, limit: 2 }, (request) => request.accountId === accountA);
      await assertListing({ statuses: ['ENABLED'], offset: 3, limit: 10 }, (request) => request.status === 'ENABLED');
      await assertListing({ statuses: ['ENABLED'], offset: 0, limit: 0 }, (request) => request.status === 'ENABLED');
    });

    it('defaults the limit to 50 and caps it at 1000', async (t) => {
      // Its own store, so the seeded one keeps its eight requests.
      const own = await open();
      t.after(() => own.cleanup());
      const account = (await own.store.createAccount(newAccount())).id;
      for (let index = 0; index < 55; index += 1) await own.store.createProvisionRequest(newRequest(account, { status: 'DISABLED' }));
      const byDefault = await own.store.listProvisionRequests();
      assert.equal(byDefault.items.length, 50);
      assert.equal(byDefault.limit, 50);
      assert.equal(byDefault.total, 55);
      const capped = await own.store.listProvisionRequests({ limit: 5000 });
      assert.equal(capped.items.length, 55);
      assert.equal(capped.limit, 1000);
      const negative = await own.store.listProvisionRequests({ offset: -5, limit: 2 });
      assert.equal(negative.offset, 0);
      assert.equal(negative.items.length, 2);
    });
  });
}
