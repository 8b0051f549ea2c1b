import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEvent, NewAuditEvent } from '../../store/types.ts';
import { type FreshStore } from './fixtures.ts';

function event(overrides: Partial<NewAuditEvent> = {}): NewAuditEvent {
  return {
    type: 'connect.refused',
    outcome: 'failure',
    actor: 'provision-broker',
    accountId: null,
    clientId: null,
    provisionRequestId: null,
    detail: { reason: 'bad password', attempt: 1 },
    ...overrides,
  };
}

function auditIds(events: readonly AuditEvent[]): string[] {
  return events.map((item) => item.id);
}

export function auditAndSettingsContract(fresh: FreshStore): void {
  describe('audit log', () => {
    it('appends events with increasing ids, stamping the current time when none is given', async (t) => {
      const { store } = await fresh(t);
      const before = Date.now();
      const first = await store.appendAudit(event());
      const second = await store.appendAudit(event({ time: 1_600_000_000_000, outcome: 'success', type: 'request.created' }));
      assert.ok(Number(second.id) > Number(first.id));
      assert.ok(first.time >= before && first.time <= Date.now());
      assert.equal(second.time, 1_600_000_000_000);
      assert.deepEqual(first, { ...event(), id: first.id, time: first.time });
      assert.deepEqual((await store.listAudit()).items, [first, second]);
    });

    it('gives unique, increasing ids to concurrent appends', async (t) => {
      const { store, openAnother } = await fresh(t);
      const other = await openAnother();
      t.after(() => other.close());
      const appended = await Promise.all(Array.from({ length: 20 }, (_, index) => (index % 2 ? other : store).appendAudit(event({ detail: { index } }))));
      const numeric = appended.map((item) => Number(item.id));
      assert.equal(new Set(numeric).size, 20);
      const listed = await store.listAudit({ limit: 100 });
      const listedIds = listed.items.map((item) => Number(item.id));
      assert.deepEqual(
        listedIds,
        [...listedIds].sort((a, b) => a - b),
        'listed in id order',
      );
      assert.equal(listed.total, 20);
    });

    it('lists events in id order, filtered by account, clientId, request, type and time range', async (t) => {
      const { store } = await fresh(t);
      const events: AuditEvent[] = [];
      const inputs = [
        event({ accountId: 'a1', clientId: 'c1', time: 1000 }),
        event({ accountId: 'a1', clientId: 'c2', type: 'provision.replied', provisionRequestId: 'r2', time: 2000 }),
        event({ accountId: 'a2', clientId: 'c1', time: 3000 }),
        event({ accountId: 'a1', clientId: 'c1', type: 'provision.replied', provisionRequestId: 'r1', time: 4000 }),
        event({ time: 5000 }),
      ];
      for (const input of inputs) events.push(await store.appendAudit(input));
      const pick = (...indexes: number[]) => indexes.map((index) => events[index]?.id);
      assert.deepEqual(auditIds((await store.listAudit({ accountId: 'a1' })).items), pick(0, 1, 3));
      assert.deepEqual(auditIds((await store.listAudit({ clientId: 'c1' })).items), pick(0, 2, 3));
      assert.deepEqual(auditIds((await store.listAudit({ provisionRequestId: 'r1' })).items), pick(3));
      assert.deepEqual(auditIds((await store.listAudit({ type: 'provision.replied' })).items), pick(1, 3));
      assert.deepEqual(auditIds((await store.listAudit({ startDate: 2000, endDate: 4000 })).items), pick(1, 2, 3));
      assert.deepEqual(auditIds((await store.listAudit({ accountId: 'a1', clientId: 'c1', endDate: 3999 })).items), pick(0));
      const page = await store.listAudit({ accountId: 'a1', offset: 1, limit: 1 });
      assert.deepEqual(auditIds(page.items), pick(1));
      assert.equal(page.total, 3);
      const unfiltered = await store.listAudit({ offset: 3, limit: 10 });
      assert.deepEqual(auditIds(unfiltered.items), pick(3, 4));
      assert.equal(unfiltered.total, 5);
    });
  });

  describe('settings', () => {
    it('answers null for a setting never set', async (t) => {
      const { store } = await fresh(t);
      assert.equal(await store.getSetting('admin-token-hash'), null);
    });

    it('sets a setting only when absent and answers the value stored', async (t) => {
      const { store } = await fresh(t);
      assert.equal(await store.setSettingIfAbsent('admin-token-hash', 'first'), 'first');
      assert.equal(await store.setSettingIfAbsent('admin-token-hash', 'second'), 'first');
      assert.equal(await store.getSetting('admin-token-hash'), 'first');
      assert.equal(await store.setSettingIfAbsent('other', ''), '', 'an empty string is a value');
    });

    it('deletes a setting, and deleting an absent one is no error', async (t) => {
      const { store } = await fresh(t);
      await store.setSettingIfAbsent('device-key-secret', 'old');
      await store.setSettingIfAbsent('kept', 'value');
      await store.deleteSetting('device-key-secret');
      await store.deleteSetting('never-set');
      assert.equal(await store.getSetting('device-key-secret'), null);
      assert.equal(await store.getSetting('kept'), 'value');
      assert.equal(await store.setSettingIfAbsent('device-key-secret', 'new'), 'new');
    });

    it('answers every concurrent setSettingIfAbsent with the one value that was stored', async (t) => {
      const { store, openAnother } = await fresh(t);
      const other = await openAnother();
      t.after(() => other.close());
      const answers = await Promise.all(Array.from({ length: 10 }, (_, index) => (index % 2 ? other : store).setSettingIfAbsent('key', `value-${index}`)));
      const stored = await store.getSetting('key');
      assert.ok(stored);
      assert.deepEqual(answers, Array(10).fill(stored));
    });
  });
}
