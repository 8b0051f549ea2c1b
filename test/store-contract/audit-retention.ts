import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEvent, NewAuditEvent, ProvisionStore } from '../../store/types.ts';
import { type FreshStore } from './fixtures.ts';

function event(time: number, overrides: Partial<NewAuditEvent> = {}): NewAuditEvent {
  return {
    type: 'device.birth',
    outcome: 'success',
    actor: 'account-broker',
    accountId: 'a1',
    clientId: 'c1',
    provisionRequestId: null,
    detail: { time },
    time,
    ...overrides,
  };
}

async function appendAll(store: ProvisionStore, times: readonly number[]): Promise<AuditEvent[]> {
  const appended: AuditEvent[] = [];
  for (const time of times) appended.push(await store.appendAudit(event(time)));
  return appended;
}

async function remainingIds(store: ProvisionStore): Promise<string[]> {
  return (await store.listAudit({ limit: 1000 })).items.map((item) => item.id);
}

const ids = (events: readonly AuditEvent[]): string[] => events.map((item) => item.id);

export function auditRetentionContract(fresh: FreshStore): void {
  describe('audit retention (deleteExpiredAudit)', () => {
    it('deletes the events older than the cut-off from the oldest end and answers how many', async (t) => {
      const { store, openAnother } = await fresh(t);
      const events = await appendAll(store, [1000, 2000, 3000, 4000, 5000]);
      assert.equal(await store.deleteExpiredAudit({ before: 3000, limit: 100 }), 2);
      assert.deepEqual(await remainingIds(store), ids(events.slice(2)), 'the kept events are unchanged');
      assert.deepEqual((await store.listAudit()).items, events.slice(2));
      const other = await openAnother();
      t.after(() => other.close());
      assert.deepEqual(await remainingIds(other), ids(events.slice(2)), 'another handle (a restart) sees the deletion');
      assert.equal(await store.deleteExpiredAudit({ before: 3000, limit: 100 }), 0, 'nothing left to delete');
    });

    it('answers 0 on an empty log and when no event has expired, deleting nothing', async (t) => {
      const { store } = await fresh(t);
      assert.equal(await store.deleteExpiredAudit({ before: Date.now(), keepNewest: 0, limit: 10 }), 0);
      const events = await appendAll(store, [5000, 6000]);
      assert.equal(await store.deleteExpiredAudit({ before: 5000, limit: 10 }), 0);
      assert.equal(await store.deleteExpiredAudit({ limit: 10 }), 0, 'no rule: nothing expires');
      assert.deepEqual(await remainingIds(store), ids(events));
    });

    it('stops at the first event that has not expired, so what is kept is an unbroken run of ids', async (t) => {
      const { store } = await fresh(t);
      const events = await appendAll(store, [1000, 9000, 2000, 3000]);
      assert.equal(await store.deleteExpiredAudit({ before: 5000, limit: 100 }), 1);
      assert.deepEqual(await remainingIds(store), ids(events.slice(1)), 'the older events behind a newer one wait for it');
    });

    it('deletes at most `limit` events per call (at least one), so repeated calls finish the job', async (t) => {
      const { store } = await fresh(t);
      const events = await appendAll(
        store,
        Array.from({ length: 25 }, (_, index) => 1000 + index),
      );
      assert.equal(await store.deleteExpiredAudit({ before: 2000, limit: 10 }), 10);
      assert.deepEqual(await remainingIds(store), ids(events.slice(10)));
      assert.equal(await store.deleteExpiredAudit({ before: 2000, limit: 0 }), 1, 'a limit below 1 deletes one');
      assert.equal(await store.deleteExpiredAudit({ before: 2000, limit: 10 }), 10);
      assert.equal(await store.deleteExpiredAudit({ before: 2000, limit: 10 }), 4);
      assert.equal(await store.deleteExpiredAudit({ before: 2000, limit: 10 }), 0);
      assert.equal((await store.listAudit()).total, 0);
    });

    it('deletes a batch of 1,000 in one call and no more', async (t) => {
      const { store } = await fresh(t);
      await Promise.all(Array.from({ length: 1005 }, (_, index) => store.appendAudit(event(1000 + index))));
      assert.equal(await store.deleteExpiredAudit({ before: 10_000, limit: 5000 }), 1000);
      assert.equal((await store.listAudit({ limit: 0 })).total, 5);
    });

    it('keeps only the newest keepNewest events, alone or together with the age rule', async (t) => {
      const { store } = await fresh(t);
      const now = Date.now();
      const events = await appendAll(store, [now, now, now, now, now, now]);
      assert.equal(await store.deleteExpiredAudit({ keepNewest: 4, limit: 100 }), 2);
      assert.deepEqual(await remainingIds(store), ids(events.slice(2)));
      assert.equal(await store.deleteExpiredAudit({ keepNewest: 4, limit: 100 }), 0);
      assert.equal(await store.deleteExpiredAudit({ before: now - 1000, keepNewest: 3, limit: 100 }), 1, 'either rule expires an event');
      assert.deepEqual(await remainingIds(store), ids(events.slice(3)));
      assert.equal(await store.deleteExpiredAudit({ keepNewest: 0, limit: 100 }), 3, 'keepNewest 0 empties the log');
      const next = await store.appendAudit(event(now));
      assert.ok(Number(next.id) > Number(events.at(-1)?.id), 'ids keep increasing after a deletion');
    });

    it('shows the batch to beforeDelete, oldest first and still stored, and deletes nothing when it rejects', async (t) => {
      const { store } = await fresh(t);
      const events = await appendAll(store, [1000, 2000, 3000]);
      await assert.rejects(
        store.deleteExpiredAudit({
          before: 2500,
          limit: 100,
          beforeDelete: async () => {
            throw new Error('archive full');
          },
        }),
        /archive full/,
      );
      assert.deepEqual(await remainingIds(store), ids(events));

      const seen: AuditEvent[][] = [];
      const storedDuringHook: string[][] = [];
      const deleted = await store.deleteExpiredAudit({
        before: 2500,
        limit: 100,
        beforeDelete: async (batch) => {
          seen.push([...batch]);
          storedDuringHook.push(await remainingIds(store));
        },
      });
      assert.equal(deleted, 2);
      assert.deepEqual(seen, [events.slice(0, 2)], 'the whole events, as listAudit gives them');
      assert.deepEqual(storedDuringHook, [ids(events)]);
      assert.deepEqual(await remainingIds(store), ids(events.slice(2)));
    });

    it('deletes each event once when two handles run retention at the same time', async (t) => {
      const { store, openAnother } = await fresh(t);
      const other = await openAnother();
      t.after(() => other.close());
      await appendAll(
        store,
        Array.from({ length: 40 }, (_, index) => 1000 + index),
      );
      const kept = await store.appendAudit(event(Date.now()));
      const counts = await Promise.all(
        Array.from({ length: 6 }, async (_, index) => {
          let total = 0;
          for (;;) {
            const deleted = await (index % 2 ? other : store).deleteExpiredAudit({ before: 5000, limit: 7 });
            if (deleted === 0) return total;
            total += deleted;
          }
        }),
      );
      assert.equal(
        counts.reduce((sum, count) => sum + count, 0),
        40,
      );
      assert.deepEqual(await remainingIds(store), [kept.id]);
    });
  });
}
