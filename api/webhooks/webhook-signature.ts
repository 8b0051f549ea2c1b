/**
 * The signature of a webhook delivery (docs/OPERATIONS.md "Webhooks and event stream"):
 *
 *   X-Provisio-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 over "<t>.<body>" with the webhook's secret>
 *
 * The time is inside what is signed, so a receiver that refuses a t more than 5 minutes from its
 * own clock refuses an old delivery replayed; one that also keeps the event ids it has taken
 * (X-Provisio-Event-Id, needed anyway as deliveries come at least once) refuses a replay within them.
 */
import { createHmac } from 'node:crypto';

export const signatureHeader = 'x-provisio-signature';
export const eventIdHeader = 'x-provisio-event-id';
export const eventTypeHeader = 'x-provisio-event-type';
export const attemptHeader = 'x-provisio-delivery-attempt';

/** The header value for `body` signed at `unixSeconds`. */
export function signDelivery(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`, 'utf8').digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}
