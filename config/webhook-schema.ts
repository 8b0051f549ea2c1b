/** Settings of webhook delivery (issue 17 §2; docs/OPERATIONS.md "Webhooks and event stream"). */
import { Type } from '@sinclair/typebox';

export const webhookSettings = {
  webhookPollIntervalMs: Type.Integer({
    minimum: 10,
    maximum: 60000,
    default: 1000,
    description:
      'How often the webhook worker (in the all-in-one process and in each API process of a cluster) looks for new audit events to deliver; a delivery comes at most this long after its event.',
  }),
  webhookTimeoutMs: Type.Integer({
    minimum: 100,
    maximum: 120000,
    default: 10000,
    description: 'How long one webhook delivery may take (connect, send, answer) before it counts as failed and is retried.',
  }),
  webhookRetryMinMs: Type.Integer({
    minimum: 10,
    maximum: 3600000,
    default: 1000,
    description: 'Wait before the first retry of a failed webhook delivery; each further failure doubles it, up to PROVISIO_WEBHOOK_RETRY_MAX_MS.',
  }),
  webhookRetryMaxMs: Type.Integer({
    minimum: 10,
    maximum: 3600000,
    default: 300000,
    description: 'Longest wait between retries of a failing webhook; the receiver is retried at this pace for as long as it fails (nothing is dropped).',
  }),
  webhookMaxConcurrent: Type.Integer({
    minimum: 1,
    maximum: 256,
    default: 8,
    description: 'How many webhooks one process delivers to at once (each webhook gets one delivery at a time, in event order).',
  }),
};
