import { Type } from '@sinclair/typebox';
import { clientIdSchema, dateTimeSchema, idSchema, Nullable, pageQueryProperties, pageSchema, StringEnum } from './common.ts';

export const serialSchema = Type.String({
  pattern: '^[0-9A-Fa-f]{1,64}$',
  description: 'Certificate serial number in hex.',
});

const certificateStatusSchema = StringEnum(['VALID', 'REVOKED']);

export const certificateSchema = Type.Object(
  {
    serial: serialSchema,
    accountId: idSchema,
    clientId: Type.String(),
    provisionRequestId: Nullable(Type.String()),
    pem: Type.String({ description: 'The certificate (PEM).' }),
    notBefore: dateTimeSchema,
    notAfter: dateTimeSchema,
    status: certificateStatusSchema,
    revokedOn: Nullable(Type.String({ format: 'date-time' })),
    revocationReason: Nullable(Type.String()),
    createdOn: dateTimeSchema,
    renewsSerial: Nullable(
      Type.String({
        pattern: '^[0-9A-Fa-f]{1,64}$',
        description: 'CERT-V1 renewal (PROTOCOL.md §13): the serial of the certificate this one renews; null when it renews nothing (issued at provisioning).',
      }),
    ),
    renewalRequestId: Nullable(
      Type.String({ description: 'CERT-V1: the request.id of the renewal request this certificate answered; null when it renews nothing.' }),
    ),
    renewalSettledOn: Nullable(
      Type.String({
        format: 'date-time',
        description:
          'CERT-V1: when the renewal was settled (the device connected with this certificate, or the grace period ended, and the renewed certificate was revoked as superseded; or this one was replaced by a newer renewal first). null while the renewal is pending, and when it renews nothing.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const certificatePageSchema = pageSchema(certificateSchema, 'A page of issued certificates.');

export const certificateListQuerySchema = Type.Object(
  {
    accountId: Type.Optional(idSchema),
    clientId: Type.Optional(clientIdSchema),
    status: Type.Optional(certificateStatusSchema),
    ...pageQueryProperties,
  },
  { additionalProperties: false },
);

export const revocationSchema = Type.Object(
  {
    reason: Type.String({
      minLength: 1,
      maxLength: 256,
      pattern: '^[^\\u0000-\\u001F\\u007F-\\u009F]+$',
      description: 'Why, e.g. keyCompromise, superseded, cessationOfOperation.',
    }),
  },
  { additionalProperties: false },
);
