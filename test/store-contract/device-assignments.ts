import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { refusal } from '../../store/records.ts';
import { nextMillisecond, rejectsWith, type FreshStore } from './fixtures.ts';

/** Device assignments (issue 18): where discovery sends a factory-certificate device, by its clientId; put creates or replaces. */
export function deviceAssignmentContract(fresh: FreshStore): void {
  describe('device assignments', () => {
    it('creates an assignment, replaces it whole, and answers null for a device without one', async (t) => {
      const { store } = await fresh(t);
      assert.equal(await store.getDeviceAssignment('device-1'), null);
      const input = { clientId: 'device-1', enrollmentGroupId: 'group-1', provisionBrokerUrl: null, modifiedBy: 'admin' };
      const created = await store.putDeviceAssignment({ ...input, extra: 'dropped' } as typeof input);
      assert.deepEqual({ ...created }, { ...input, modifiedOn: created.modifiedOn });
      assert.deepEqual(await store.getDeviceAssignment('device-1'), created);
      await nextMillisecond();
      const replaced = await store.putDeviceAssignment({
        clientId: 'device-1',
        enrollmentGroupId: null,
        provisionBrokerUrl: 'mqtts://home.example:8883',
        modifiedBy: 'operator',
      });
      assert.ok(replaced.modifiedOn > created.modifiedOn);
      assert.deepEqual(await store.getDeviceAssignment('device-1'), replaced);
      assert.deepEqual(
        { ...replaced },
        {
          clientId: 'device-1',
          enrollmentGroupId: null,
          provisionBrokerUrl: 'mqtts://home.example:8883',
          modifiedBy: 'operator',
          modifiedOn: replaced.modifiedOn,
        },
      );
      assert.equal((await store.listDeviceAssignments()).total, 1);
    });

    it('lists assignments by oldest change first (a replaced one moves to the end), with offset, limit and the total', async (t) => {
      const { store } = await fresh(t);
      for (const clientId of ['c', 'a:with:colons', 'b']) {
        await store.putDeviceAssignment({ clientId, enrollmentGroupId: null, provisionBrokerUrl: null, modifiedBy: 'admin' });
        await nextMillisecond();
      }
      await store.putDeviceAssignment({ clientId: 'c', enrollmentGroupId: 'group-2', provisionBrokerUrl: null, modifiedBy: 'admin' });
      const clientIds = async (page?: { offset?: number; limit?: number }) => {
        const listed = await store.listDeviceAssignments(page);
        return { clientIds: listed.items.map((item) => item.clientId), total: listed.total };
      };
      assert.deepEqual(await clientIds(), { clientIds: ['a:with:colons', 'b', 'c'], total: 3 });
      assert.deepEqual(await clientIds({ offset: 1, limit: 1 }), { clientIds: ['b'], total: 3 });
      assert.deepEqual(await store.listDeviceAssignments({ limit: 0 }), { items: [], total: 3, offset: 0, limit: 0 });
      assert.equal((await store.listDeviceAssignments()).items[2]?.enrollmentGroupId, 'group-2');
    });

    it('deletes an assignment; NOT_FOUND when there is none', async (t) => {
      const { store } = await fresh(t);
      await store.putDeviceAssignment({ clientId: 'device-1', enrollmentGroupId: 'group-1', provisionBrokerUrl: null, modifiedBy: 'admin' });
      await store.deleteDeviceAssignment('device-1');
      assert.equal(await store.getDeviceAssignment('device-1'), null);
      assert.equal((await store.listDeviceAssignments()).total, 0);
      await rejectsWith(store.deleteDeviceAssignment('device-1'), 'NOT_FOUND', refusal.deviceAssignmentNotFound);
    });
  });
}
