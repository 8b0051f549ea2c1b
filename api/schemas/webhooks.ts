import { Type } from '@sinclair/typebox';
import { publicEventTypes } from '../webhooks/public-events.ts';
import { dateTimeSchema, idSchema, Nullable, StringEnum, withDefault, withOptions } from './common.ts';

/** Webhooks (issue 17 §2; docs/OPERATIONS.md "Webhooks and event stream"). */

const webhookUrlSchema = Type.String({
  minLength: 1,
  maxLength: 2048,
  description: 'Where deliveries are POSTed: an http or https URL without credentials (user:password@) in it.',
});

const eventTypeSchema = StringEnum(publicEventTypes, { description: 'A public event type (docs/OPERATIONS.md lists what each stands for).' });

const eventTypeListSchema = Type.Array(eventTypeSchema, {
  minItems: 1,
  maxItems: publicEventTypes.length,
  description: 'The event types delivered; stored sorted, without repeats.',
});

const auditIdSchema = Type.String({ pattern: '^[0-9]{1,15}$', description: 'An audit event id (decimal).' });

export const newWebhookSchema = Type.Object(
  {
    accountId: Type.Optional(
      withOptions(Nullable(idSchema), {
        description: 'Deliver only the events of this account; absent or null: the events of every account (a global webhook, created by a global token).',
      }),
    ),
    url: webhookUrlSchema,
    eventTypes: eventTypeListSchema,
    enabled: withDefault(Type.Boolean(), true),
  },
  { additionalProperties: false },
);

export const webhookPatchSchema = Type.Object(
  {
    url: Type.Optional(webhookUrlSchema),
    eventTypes: Type.Optional(eventTypeListSchema),
    enabled: Type.Optional(
      withOptions(Type.Boolean(), { description: 'false: nothing is delivered, and events wait; true again: delivery goes on from where it stopped.' }),
    ),
    rotateSecret: Type.Optional(
      withOptions(Type.Boolean(), { description: 'true: a new signing secret, shown once in this answer; the old one stops at once.' }),
    ),
  },
  { additionalProperties: false },
);

export const webhookSchema = Type.Object(
  {
    id: Type.String(),
    accountId: Nullable(idSchema),
    url: Type.String(),
    eventTypes: Type.Array(eventTypeSchema),
    enabled: Type.Boolean(),
    cursor: withOptions(auditIdSchema, { description: 'Id of the last audit event delivered or passed over: the next delivery is of a later one.' }),
    createdOn: dateTimeSchema,
    modifiedOn: dateTimeSchema,
    secret: Type.Optional(
      Type.String({ description: 'The signing secret (HMAC-SHA256 key): only in the answer of a creation or of a PATCH with rotateSecret, never again.' }),
    ),
  },
  { additionalProperties: false },
);

export const webhookListSchema = Type.Object(
  { items: Type.Array(webhookSchema) },
  { additionalProperties: false, description: 'Every webhook the caller may see (of its account, or all for a global token), oldest first.' },
);

export const webhookAttemptSchema = Type.Object(
  {
    eventId: auditIdSchema,
    eventType: Type.String(),
    attempt: Type.Integer({ minimum: 1, description: 'Which attempt at this event it was (X-Provisio-Delivery-Attempt).' }),
    attemptedOn: dateTimeSchema,
    status: Nullable(Type.Integer({ description: 'The HTTP status answered; null when none came (refused, timed out).' })),
    delivered: Type.Boolean(),
    error: Nullable(Type.String({ description: 'Why it failed, e.g. HTTP 503, ECONNREFUSED, timed out.' })),
  },
  { additionalProperties: false },
);

export const webhookAttemptListSchema = Type.Object(
  { items: Type.Array(webhookAttemptSchema) },
  { additionalProperties: false, description: 'The most recent delivery attempts, newest first (the newest 200 are kept).' },
);

export const webhookAttemptListQuerySchema = Type.Object(
  { limit: withDefault(Type.Integer({ minimum: 1, maximum: 200, description: 'Attempts to list (at most 200).' }), 50) },
  { additionalProperties: false },
);

export const webhookRedeliverySchema = Type.Object(
  {
    fromEventId: withOptions(auditIdSchema, { description: 'Deliver again every wanted event from this audit id on (the events the audit log still keeps).' }),
  },
  { additionalProperties: false },
);
