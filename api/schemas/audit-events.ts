import { Type } from '@sinclair/typebox';
import {
  AnyObject,
  clientIdSchema,
  dateTimeSchema,
  idSchema,
  Nullable,
  pageQueryProperties,
  pageSchema,
  StringEnum,
  withDefault,
  withOptions,
} from './common.ts';

export const auditEventSchema = Type.Object(
  {
    id: Type.String(),
    time: dateTimeSchema,
    type: Type.String({ description: 'e.g. request.created, connect.refused, provision.replied.' }),
    outcome: StringEnum(['success', 'failure']),
    actor: Type.String({ description: "'admin', an API token id, or the component that acted." }),
    accountId: Nullable(Type.String()),
    clientId: Nullable(Type.String()),
    provisionRequestId: Nullable(Type.String()),
    detail: AnyObject(),
  },
  { additionalProperties: false },
);

export const auditEventPageSchema = pageSchema(auditEventSchema, 'A page of audit events.');

export const auditEventListQuerySchema = Type.Object(
  {
    accountId: Type.Optional(idSchema),
    clientId: Type.Optional(clientIdSchema),
    provisionRequestId: Type.Optional(idSchema),
    type: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' })),
    startDate: Type.Optional(withOptions(dateTimeSchema, { description: 'At or after.' })),
    endDate: Type.Optional(withOptions(dateTimeSchema, { description: 'At or before.' })),
    ...pageQueryProperties,
  },
  { additionalProperties: false },
);

export const eventStreamQuerySchema = Type.Object(
  {
    format: withDefault(StringEnum(['audit', 'public'] as const), 'audit', {
      description:
        'audit: every audit event (event: audit, data an AuditEvent), what the console follows. public: only the events webhooks deliver, ' +
        'under their public type and in the webhook body (event: the public type, data the same JSON a webhook receives), for integrators without a public URL.',
    }),
  },
  { additionalProperties: false },
);
