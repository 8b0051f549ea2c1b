import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FreshStore } from './fixtures.ts';

/** Broker processes' last signs of life, by which a dead broker's devices are found (issue 15 §1). */
export function brokerHeartbeatContract(fresh: FreshStore): void {
  describe('broker heartbeats', () => {
    it('has none in a new store', async (t) => {
      const { store } = await fresh(t);
      assert.deepEqual(await store.listBrokerHeartbeats(), []);
    });

    it('records heartbeats and lists them ordered by brokerId', async (t) => {
      const { store } = await fresh(t);
      await store.recordBrokerHeartbeat('broker-b', 1_765_432_109_876);
      await store.recordBrokerHeartbeat('broker-a', 1_765_432_100_000);
      await store.recordBrokerHeartbeat('broker-c', 8_640_000_000_000_000);
      assert.deepEqual(await store.listBrokerHeartbeats(), [
        { brokerId: 'broker-a', seenOn: 1_765_432_100_000 },
        { brokerId: 'broker-b', seenOn: 1_765_432_109_876 },
        { brokerId: 'broker-c', seenOn: 8_640_000_000_000_000 },
      ]);
    });

    it('moves a heartbeat forward in place: one entry per broker', async (t) => {
      const { store } = await fresh(t);
      await store.recordBrokerHeartbeat('broker-a', 1000);
      await store.recordBrokerHeartbeat('broker-b', 1500);
      await store.recordBrokerHeartbeat('broker-a', 2000);
      await store.recordBrokerHeartbeat('broker-a', 3000);
      assert.deepEqual(await store.listBrokerHeartbeats(), [
        { brokerId: 'broker-a', seenOn: 3000 },
        { brokerId: 'broker-b', seenOn: 1500 },
      ]);
    });

    it('deletes a heartbeat; deleting an absent one does nothing', async (t) => {
      const { store } = await fresh(t);
      await store.recordBrokerHeartbeat('broker-a', 1000);
      await store.recordBrokerHeartbeat('broker-b', 2000);
      await store.deleteBrokerHeartbeat('broker-a');
      assert.deepEqual(await store.listBrokerHeartbeats(), [{ brokerId: 'broker-b', seenOn: 2000 }]);
      await store.deleteBrokerHeartbeat('broker-a');
      await store.deleteBrokerHeartbeat('no-such-broker');
      assert.deepEqual(await store.listBrokerHeartbeats(), [{ brokerId: 'broker-b', seenOn: 2000 }]);
      await store.recordBrokerHeartbeat('broker-a', 4000);
      assert.deepEqual(await store.listBrokerHeartbeats(), [
        { brokerId: 'broker-a', seenOn: 4000 },
        { brokerId: 'broker-b', seenOn: 2000 },
      ]);
    });

    it('shares heartbeats between handles and keeps them after close and reopen', async (t) => {
      const { store, openAnother } = await fresh(t);
      const other = await openAnother();
      t.after(() => other.close());
      await store.recordBrokerHeartbeat('broker-1', 1000);
      await other.recordBrokerHeartbeat('broker-2', 2000);
      await other.recordBrokerHeartbeat('broker-1', 3000);
      const expected = [
        { brokerId: 'broker-1', seenOn: 3000 },
        { brokerId: 'broker-2', seenOn: 2000 },
      ];
      assert.deepEqual(await store.listBrokerHeartbeats(), expected);
      await store.close();
      const reopened = await openAnother();
      t.after(() => reopened.close());
      assert.deepEqual(await reopened.listBrokerHeartbeats(), expected);
    });
  });
}
