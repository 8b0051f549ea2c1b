import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IssuedCertificate, ProvisionRequest, ProvisionStore } from '../../store/types.ts';
import { ids, inStoreOrder, newAccount, newCertificate, newRequest, nextMillisecond, type FreshStore } from './fixtures.ts';

/** The order certificates are listed in: createdOn, then serial. */
function serialsInStoreOrder(certificates: readonly IssuedCertificate[]): string[] {
  return [...certificates]
    .sort((a, b) => a.createdOn - b.createdOn || (a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : 0))
    .map((certificate) => certificate.serial);
}

/**
 * Listings filtered by clientId(s), which the device paths use (a birth, a completion, a
 * provisioning attempt): a backend may answer them from an index by clientId (Redis does, so their
 * cost does not grow with the fleet) but the answer must be that of the filter over every record:
 * same records, order, total and window, across accounts, after updates that move a request to
 * another clientId, deletions and replacements.
 */
export function clientListingContract(fresh: FreshStore): void {
  describe('listings by clientId', () => {
    it('list provision requests of the clientIds, in every account or one, with the other filters and the window', async (t) => {
      const { store } = await fresh(t);
      const [a, b] = [(await store.createAccount(newAccount())).id, (await store.createAccount(newAccount())).id];
      const made: ProvisionRequest[] = [];
      const make = async (accountId: string, clientId: string, status: 'ENABLED' | 'DISABLED') => {
        await nextMillisecond();
        const request = await store.createProvisionRequest(newRequest(accountId, { clientId, status }));
        made.push(request);
        return request;
      };
      await make(a, 'shared', 'DISABLED');
      await make(b, 'shared', 'ENABLED');
      const other = await make(a, 'other', 'ENABLED');
      await make(b, 'unrelated', 'DISABLED');
      const completed = await store.updateProvisionRequest(made[0]!.id, 1, { modifiedBy: 'test', jobStatus: 'COMPLETED' });
      made[0] = completed;

      const listed = async (filter: Parameters<ProvisionStore['listProvisionRequests']>[0]) => {
        const page = await store.listProvisionRequests(filter);
        return { ids: ids(page.items), total: page.total };
      };
      const expected = (keep: (request: ProvisionRequest) => boolean, offset = 0, limit = 50) => {
        const all = inStoreOrder(made.filter(keep));
        return { ids: ids(all.slice(offset, offset + limit)), total: all.length };
      };

      assert.deepEqual(
        await listed({ clientIds: ['shared'] }),
        expected((r) => r.clientId === 'shared'),
      );
      assert.deepEqual(
        await listed({ clientIds: ['shared', 'other', 'shared', 'absent'] }),
        expected((r) => r.clientId === 'shared' || r.clientId === 'other'),
      );
      assert.deepEqual(
        await listed({ accountId: a, clientIds: ['shared'] }),
        expected((r) => r.clientId === 'shared' && r.accountId === a),
      );
      assert.deepEqual(await listed({ accountId: 'no-such-account', clientIds: ['shared'] }), { ids: [], total: 0 });
      assert.deepEqual(
        await listed({ clientIds: ['shared'], statuses: ['ENABLED'] }),
        expected((r) => r.clientId === 'shared' && r.status === 'ENABLED'),
      );
      assert.deepEqual(
        await listed({ accountId: a, clientIds: ['shared'], jobStatuses: ['COMPLETED'], limit: 1 }),
        expected((r) => r.clientId === 'shared' && r.accountId === a && r.jobStatus === 'COMPLETED', 0, 1),
      );
      const startDate = made[1]!.createdOn;
      const endDate = made[2]!.createdOn;
      assert.deepEqual(
        await listed({ clientIds: ['shared', 'other'], startDate, endDate }),
        expected((r) => ['shared', 'other'].includes(r.clientId) && r.createdOn >= startDate && r.createdOn <= endDate),
      );
      assert.deepEqual(
        await listed({ clientIds: ['shared', 'other'], offset: 1, limit: 1 }),
        expected((r) => ['shared', 'other'].includes(r.clientId), 1, 1),
      );
      assert.deepEqual(await listed({ clientIds: ['shared'], offset: 5 }), { ids: [], total: 2 });

      // Moved to another clientId: listed under the new one only.
      const moved = await store.updateProvisionRequest(other.id, other.version, { modifiedBy: 'test', clientId: 'renamed' });
      made[2] = moved;
      assert.deepEqual(await listed({ clientIds: ['other'] }), { ids: [], total: 0 });
      assert.deepEqual(await listed({ accountId: a, clientIds: ['renamed'] }), { ids: [other.id], total: 1 });

      // Deleted, and replaced: gone, and the new one in its place.
      await store.deleteProvisionRequest(moved.id);
      assert.deepEqual(await listed({ clientIds: ['renamed'] }), { ids: [], total: 0 });
      const replacement = await store.replaceProvisionRequest(made[1]!.id, newRequest(b, { clientId: 'shared' }));
      assert.deepEqual(await listed({ clientIds: ['shared'] }), { ids: ids(inStoreOrder([made[0]!, replacement])), total: 2 });
      assert.deepEqual(await listed({ accountId: b, clientIds: ['shared'] }), { ids: [replacement.id], total: 1 });
    });

    it('list certificates of a clientId, in every account or one, by status, with the window', async (t) => {
      const { store } = await fresh(t);
      const [a, b] = [(await store.createAccount(newAccount())).id, (await store.createAccount(newAccount())).id];
      const recorded: IssuedCertificate[] = [];
      for (const [accountId, clientId] of [
        [a, 'device-1'],
        [a, 'device-2'],
        [b, 'device-1'],
        [a, 'device-1'],
        [a, 'device-1'],
      ] as const) {
        await nextMillisecond();
        recorded.push(await store.recordCertificate(newCertificate(accountId, { clientId })));
      }
      recorded[0] = await store.revokeCertificate(recorded[0]!.serial, 'superseded');

      const listed = async (filter: Parameters<ProvisionStore['listCertificates']>[0]) => {
        const page = await store.listCertificates(filter);
        return { serials: page.items.map((certificate) => certificate.serial), total: page.total };
      };
      const expected = (keep: (certificate: IssuedCertificate) => boolean, offset = 0, limit = 50) => {
        const all = serialsInStoreOrder(recorded.filter(keep));
        return { serials: all.slice(offset, offset + limit), total: all.length };
      };

      assert.deepEqual(
        await listed({ clientId: 'device-1' }),
        expected((c) => c.clientId === 'device-1'),
      );
      assert.deepEqual(
        await listed({ clientId: 'device-1', status: 'VALID' }),
        expected((c) => c.clientId === 'device-1' && c.status === 'VALID'),
      );
      assert.deepEqual(
        await listed({ clientId: 'device-1', status: 'REVOKED' }),
        expected((c) => c.clientId === 'device-1' && c.status === 'REVOKED'),
      );
      assert.deepEqual(
        await listed({ accountId: b, clientId: 'device-1' }),
        expected((c) => c.clientId === 'device-1' && c.accountId === b),
      );
      assert.deepEqual(
        await listed({ accountId: a, clientId: 'device-1', status: 'VALID', offset: 1, limit: 1 }),
        expected((c) => c.clientId === 'device-1' && c.accountId === a && c.status === 'VALID', 1, 1),
      );
      assert.deepEqual(await listed({ clientId: 'absent' }), { serials: [], total: 0 });
      assert.deepEqual(await listed({ clientId: 'device-1', limit: 0 }), { serials: [], total: 4 });
    });
  });
}
