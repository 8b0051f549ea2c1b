/**
 * Delivers audit events to webhooks (issue 17 §2), apart from provisioning: its own timer, HTTP
 * with a timeout, a bounded number of webhooks at once; nothing provisioning does waits for it.
 *
 * Each webhook has a cursor over the audit log (store/webhook-types.ts). Its events go out in
 * audit-id order, one at a time, so the events of a device arrive in the order they happened;
 * the cursor moves past an event only once the receiver answered 2xx, and past events the webhook
 * does not want as it goes. A failure keeps the cursor where it is and retries the same event
 * after a wait that doubles each time (PROVISIO_WEBHOOK_RETRY_MIN_MS … _MAX_MS), for as long as
 * it fails: nothing is dropped while the audit log keeps the events. Delivery is at least once (a
 * receiver that took an event but whose 2xx was lost gets it again), so receivers dedupe by event id.
 *
 * Every process that runs the dispatcher (the all-in-one, each API process of a cluster) looks at
 * every webhook; a lease in the store lets one process deliver a webhook at a time.
 */
import { randomUUID } from 'node:crypto';
import type { PlatformConfig } from '../../config/schema.ts';
import type { Logger } from '../../log/logger.ts';
import type { AuditEvent, ProvisionStore, Webhook } from '../../store/types.ts';
import { publicEventOf, publicTypeOf, type PublicEventType } from './public-events.ts';
import type { WebhookSecretBox } from './webhook-secret-box.ts';
import { attemptHeader, eventIdHeader, eventTypeHeader, signatureHeader, signDelivery } from './webhook-signature.ts';

export type WebhookDeliveryConfig = Pick<
  PlatformConfig,
  'webhookPollIntervalMs' | 'webhookTimeoutMs' | 'webhookRetryMinMs' | 'webhookRetryMaxMs' | 'webhookMaxConcurrent'
>;

export interface WebhookDispatcherOptions {
  readonly store: ProvisionStore;
  readonly box: WebhookSecretBox;
  readonly config: WebhookDeliveryConfig;
  readonly log: Logger;
}

export interface WebhookDispatcher {
  /** Stops looking and aborts deliveries in flight (their events come again later: the cursor did not move). */
  close(): Promise<void>;
}

/** Events read from the audit log per look. */
const batchSize = 100;
/** Events one run delivers or passes before giving its slot to the other webhooks. */
const eventsPerRun = 1000;

/** A webhook's failures in a row, in this process: how long it waits before trying again. */
interface FailingState {
  failures: number;
  nextAttemptOn: number;
}

/** The wait after `failures` failures in a row: min, 2·min, 4·min, … up to max. */
export function retryDelayMs(failures: number, config: Pick<WebhookDeliveryConfig, 'webhookRetryMinMs' | 'webhookRetryMaxMs'>): number {
  const doubled = config.webhookRetryMinMs * 2 ** Math.min(Math.max(failures - 1, 0), 30);
  return Math.min(doubled, Math.max(config.webhookRetryMaxMs, config.webhookRetryMinMs));
}

function wants(webhook: Webhook, event: AuditEvent): PublicEventType | null {
  const type = publicTypeOf(event);
  if (type === null || !webhook.eventTypes.includes(type)) return null;
  if (webhook.accountId !== null && event.accountId !== webhook.accountId) return null;
  return type;
}

function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'timed out';
    const code = (error.cause as { code?: unknown } | undefined)?.code;
    return typeof code === 'string' ? code : error.message;
  }
  return String(error);
}

export function startWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  const { store, box, config, log } = options;
  const holder = randomUUID();
  const leaseMs = Math.max(30_000, config.webhookTimeoutMs * 3);
  const failing = new Map<string, FailingState>();
  const running = new Map<string, Promise<void>>();
  const closing = new AbortController();
  let timer: NodeJS.Timeout | null = null;

  /** One delivery; true when the receiver answered 2xx. */
  async function deliver(webhook: Webhook, secret: string, event: AuditEvent, type: PublicEventType): Promise<boolean> {
    const state = failing.get(webhook.id);
    const attempt = (state?.failures ?? 0) + 1;
    const body = JSON.stringify(publicEventOf(event, type));
    const attemptedOn = Date.now();
    let status: number | null = null;
    let error: string | null = null;
    try {
      const response = await fetch(webhook.url, {
        method: 'POST',
        body,
        redirect: 'manual',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'provisio-webhooks/1',
          [signatureHeader]: signDelivery(secret, body, Math.floor(Date.now() / 1000)),
          [eventIdHeader]: event.id,
          [eventTypeHeader]: type,
          [attemptHeader]: String(attempt),
        },
        signal: AbortSignal.any([AbortSignal.timeout(config.webhookTimeoutMs), closing.signal]),
      });
      status = response.status;
      await response.body?.cancel().catch(() => undefined);
      if (status < 200 || status > 299) error = `HTTP ${status}`;
    } catch (caught) {
      error = describeFailure(caught);
    }
    if (closing.signal.aborted && error !== null) return false; // shutting down: not the receiver's failure
    await store
      .recordWebhookAttempt({ webhookId: webhook.id, eventId: event.id, eventType: type, attempt, attemptedOn, status, delivered: error === null, error })
      .catch((recordError: unknown) => log.warn({ err: recordError, webhookId: webhook.id }, 'webhook attempt not recorded'));
    if (error === null) {
      if (state) log.info({ webhookId: webhook.id, eventId: event.id, attempt }, 'webhook delivered again after failures');
      failing.delete(webhook.id);
      return true;
    }
    const failures = attempt;
    failing.set(webhook.id, { failures, nextAttemptOn: Date.now() + retryDelayMs(failures, config) });
    if (failures === 1) log.warn({ webhookId: webhook.id, eventId: event.id, error }, 'webhook delivery failed; retrying with backoff');
    return false;
  }

  /** Delivers what is due for one webhook, in event order, until it is caught up, fails, or has had its share. */
  async function run(webhook: Webhook): Promise<void> {
    if (!(await store.claimWebhookLease(webhook.id, holder, Date.now(), leaseMs))) return;
    const opened = box.open(webhook.sealedSecret);
    if (opened.stale) await store.updateWebhook(webhook.id, { sealedSecret: box.seal(opened.secret) });
    let cursor = webhook.cursor;
    let handled = 0;
    while (handled < eventsPerRun && !closing.signal.aborted) {
      const events = await store.listAuditAfter(cursor, batchSize);
      if (events.length === 0) return;
      let passedTo = cursor;
      for (const event of events) {
        const type = wants(webhook, event);
        if (type === null) {
          passedTo = event.id;
          continue;
        }
        if (passedTo !== cursor) {
          if (!(await store.moveWebhookCursor(webhook.id, cursor, passedTo))) return; // rewound (redelivery) or deleted
          cursor = passedTo;
        }
        if (!(await deliver(webhook, opened.secret, event, type))) return;
        if (!(await store.moveWebhookCursor(webhook.id, cursor, event.id))) return;
        cursor = passedTo = event.id;
        if (closing.signal.aborted) return;
      }
      if (passedTo !== cursor) {
        if (!(await store.moveWebhookCursor(webhook.id, cursor, passedTo))) return;
        cursor = passedTo;
      }
      handled += events.length;
      await store.claimWebhookLease(webhook.id, holder, Date.now(), leaseMs);
    }
  }

  async function look(): Promise<void> {
    const webhooks = await store.listWebhooks();
    const now = Date.now();
    const present = new Set(webhooks.map((webhook) => webhook.id));
    for (const id of failing.keys()) if (!present.has(id)) failing.delete(id);
    for (const webhook of webhooks) {
      if (running.size >= config.webhookMaxConcurrent) break;
      if (!webhook.enabled || running.has(webhook.id) || (failing.get(webhook.id)?.nextAttemptOn ?? 0) > now) continue;
      const task = run(webhook)
        .catch((error: unknown) => log.warn({ err: error, webhookId: webhook.id }, 'webhook delivery run failed'))
        .finally(() => running.delete(webhook.id));
      running.set(webhook.id, task);
    }
  }

  function schedule(): void {
    if (closing.signal.aborted) return;
    timer = setTimeout(() => {
      look()
        .catch((error: unknown) => log.warn({ err: error }, 'webhooks not read'))
        .finally(schedule);
    }, config.webhookPollIntervalMs);
    timer.unref();
  }
  schedule();

  return {
    async close() {
      closing.abort();
      if (timer) clearTimeout(timer);
      await Promise.allSettled([...running.values()]);
    },
  };
}
