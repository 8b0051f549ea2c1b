/**
 * Webhooks (issue 17 §2): where the platform delivers events, and what came of its attempts.
 * Delivery state is a cursor over the audit log per webhook (the id of the last event delivered
 * or passed over): events go out in audit-id order, one at a time, and the cursor moves only after
 * the receiver answered 2xx, so nothing is lost while the audit log keeps the events.
 */
export interface Webhook {
  readonly id: string;
  /** null: a global webhook, told the events of every account. */
  readonly accountId: string | null;
  readonly url: string;
  /** Public event types (api/webhooks/public-events.ts), sorted, without repeats. */
  readonly eventTypes: readonly string[];
  /** The signing secret as the caller sealed it (api/webhooks/webhook-secret-box.ts); opaque to the store. */
  readonly sealedSecret: string;
  readonly enabled: boolean;
  /** Audit id of the last event delivered or passed over; '0' before the first. */
  readonly cursor: string;
  readonly createdOn: number;
  readonly modifiedOn: number;
}

/** One delivery attempt, kept for inspection (the newest per webhook; see ProvisionStore.recordWebhookAttempt). */
export interface WebhookAttempt {
  readonly webhookId: string;
  readonly eventId: string;
  readonly eventType: string;
  /** 1 for the first attempt at this event by the process that made it. */
  readonly attempt: number;
  readonly attemptedOn: number;
  /** The HTTP status answered; null when none came (refused, timed out). */
  readonly status: number | null;
  readonly delivered: boolean;
  /** Why it failed; null when delivered. */
  readonly error: string | null;
}

export type NewWebhook = Pick<Webhook, 'accountId' | 'url' | 'eventTypes' | 'sealedSecret' | 'enabled'>;
export type WebhookPatch = Partial<Pick<Webhook, 'url' | 'eventTypes' | 'sealedSecret' | 'enabled' | 'cursor'>>;

/** How many attempts a webhook keeps; older ones are dropped as new ones are recorded. */
export const keptWebhookAttempts = 200;
