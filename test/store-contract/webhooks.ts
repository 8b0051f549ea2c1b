import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NewWebhook } from '../../store/types.ts';
import { keptWebhookAttempts } from '../../store/webhook-types.ts';
import { rejectsWith, type FreshStore } from './fixtures.ts';

const newWebhook = (overrides: Partial<NewWebhook> = {}): NewWebhook => ({
  accountId: null,
  url: 'https://hooks.example.com/provisio',
  eventTypes: ['provisioning.completed', 'device.online', 'device.online'],
  sealedSecret: 'sealed:abc',
  enabled: true,
  ...overrides,
});

const audit = (type: string) => ({ type, outcome: 'success' as const, actor: 't', accountId: null, clientId: 'c', provisionRequestId: null, detail: {} });

/** Webhooks (issue 17 §2): records, the cursor over the audit log (compare-and-set), the delivery lease, recent attempts. */
export function webhookContract(fresh: FreshStore): void {
  describe('webhooks', () => {
    it('creates, gets, lists, updates and deletes webhooks; event types sorted without repeats', async (t) => {
      const { store } = await fresh(t);
      assert.deepEqual(await store.listWebhooks(), []);
      const created = await store.createWebhook(newWebhook());
      assert.deepEqual(created.eventTypes, ['device.online', 'provisioning.completed']);
      assert.equal(created.accountId, null);
      assert.equal(created.enabled, true);
      assert.equal(created.cursor, '0');
      assert.deepEqual(await store.getWebhook(created.id), created);
      const second = await store.createWebhook(newWebhook({ accountId: 'acc-1', enabled: false }));
      assert.deepEqual(
        (await store.listWebhooks()).map((webhook) => webhook.id),
        [created.id, second.id],
      );
      const updated = await store.updateWebhook(created.id, { enabled: false, url: 'http://127.0.0.1:1/x', eventTypes: ['request.created'] });
      assert.equal(updated.enabled, false);
      assert.equal(updated.url, 'http://127.0.0.1:1/x');
      assert.deepEqual(updated.eventTypes, ['request.created']);
      assert.equal(updated.sealedSecret, 'sealed:abc');
      await rejectsWith(store.updateWebhook('no-such-webhook', { enabled: true }), 'NOT_FOUND');
      await store.deleteWebhook(created.id);
      await store.deleteWebhook(created.id);
      assert.equal(await store.getWebhook(created.id), null);
      assert.equal((await store.listWebhooks()).length, 1);
    });

    it('starts the cursor at the newest audit event and lists the audit log after a cursor, in id order', async (t) => {
      const { store } = await fresh(t);
      const first = await store.appendAudit(audit('request.created'));
      const second = await store.appendAudit(audit('provision.started'));
      const webhook = await store.createWebhook(newWebhook());
      assert.equal(webhook.cursor, second.id);
      const third = await store.appendAudit(audit('provision.completed'));
      const fourth = await store.appendAudit(audit('device.birth'));
      assert.deepEqual(
        (await store.listAuditAfter(webhook.cursor, 10)).map((event) => [event.id, event.type]),
        [
          [third.id, 'provision.completed'],
          [fourth.id, 'device.birth'],
        ],
      );
      assert.deepEqual(
        (await store.listAuditAfter(first.id, 2)).map((event) => event.id),
        [second.id, third.id],
      );
      assert.deepEqual(await store.listAuditAfter(fourth.id, 10), []);
    });

    it('moves the cursor only from the value it holds (compare-and-set); an update rewinds it', async (t) => {
      const { store } = await fresh(t);
      const webhook = await store.createWebhook(newWebhook());
      assert.equal(await store.moveWebhookCursor(webhook.id, '0', '5'), true);
      assert.equal(await store.moveWebhookCursor(webhook.id, '0', '6'), false);
      assert.equal((await store.getWebhook(webhook.id))?.cursor, '5');
      await store.updateWebhook(webhook.id, { cursor: '2' });
      assert.equal(await store.moveWebhookCursor(webhook.id, '5', '7'), false);
      assert.equal(await store.moveWebhookCursor(webhook.id, '2', '3'), true);
      assert.equal((await store.getWebhook(webhook.id))?.cursor, '3');
      assert.equal(await store.moveWebhookCursor('no-such-webhook', '0', '1'), false);
    });

    it('leases a webhook to one holder until the lease runs out', async (t) => {
      const { store } = await fresh(t);
      const webhook = await store.createWebhook(newWebhook());
      const now = Date.now();
      assert.equal(await store.claimWebhookLease(webhook.id, 'process-a', now, 300), true);
      assert.equal(await store.claimWebhookLease(webhook.id, 'process-b', now, 300), false);
      assert.equal(await store.claimWebhookLease(webhook.id, 'process-a', now, 300), true);
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.equal(await store.claimWebhookLease(webhook.id, 'process-b', Date.now(), 300), true);
      assert.equal(await store.claimWebhookLease(webhook.id, 'process-a', Date.now(), 300), false);
    });

    it('keeps the newest attempts of each webhook, newest first', async (t) => {
      const { store } = await fresh(t);
      const webhook = await store.createWebhook(newWebhook());
      const other = await store.createWebhook(newWebhook());
      for (let index = 1; index <= keptWebhookAttempts + 5; index++) {
        await store.recordWebhookAttempt({
          webhookId: webhook.id,
          eventId: String(index),
          eventType: 'device.online',
          attempt: 1,
          attemptedOn: 1000 + index,
          status: index % 2 === 0 ? 200 : null,
          delivered: index % 2 === 0,
          error: index % 2 === 0 ? null : 'ECONNREFUSED',
        });
      }
      await store.recordWebhookAttempt({
        webhookId: other.id,
        eventId: '1',
        eventType: 'device.online',
        attempt: 2,
        attemptedOn: 1,
        status: 503,
        delivered: false,
        error: 'HTTP 503',
      });
      const kept = await store.listWebhookAttempts(webhook.id, 1000);
      assert.equal(kept.length, keptWebhookAttempts);
      assert.equal(kept[0]?.eventId, String(keptWebhookAttempts + 5));
      assert.deepEqual(kept[1], {
        webhookId: webhook.id,
        eventId: String(keptWebhookAttempts + 4),
        eventType: 'device.online',
        attempt: 1,
        attemptedOn: 1000 + keptWebhookAttempts + 4,
        status: 200,
        delivered: true,
        error: null,
      });
      assert.deepEqual(
        (await store.listWebhookAttempts(webhook.id, 2)).map((attempt) => attempt.eventId),
        [String(keptWebhookAttempts + 5), String(keptWebhookAttempts + 4)],
      );
      assert.deepEqual(await store.listWebhookAttempts(other.id, 10), [
        { webhookId: other.id, eventId: '1', eventType: 'device.online', attempt: 2, attemptedOn: 1, status: 503, delivered: false, error: 'HTTP 503' },
      ]);
      await store.deleteWebhook(webhook.id);
      assert.deepEqual(await store.listWebhookAttempts(webhook.id, 10), []);
    });
  });
}
