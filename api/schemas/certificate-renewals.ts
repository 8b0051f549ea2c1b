import { Type } from '@sinclair/typebox';
import { categoryNameSchema } from './categories.ts';
import { clientIdSchema, idSchema, withDefault, withOptions } from './common.ts';

/** How long a device may take to start renewing (renew.within.seconds); at most a day. */
const renewWithinMaxSeconds = 86_400;

export const newCertificateRenewalSchema = Type.Object(
  {
    clientId: Type.Optional(clientIdSchema),
    accountId: Type.Optional(withOptions(idSchema, { description: 'One account: every online device of it (or of its category, with `category`).' })),
    category: Type.Optional(withOptions(categoryNameSchema, { description: 'With accountId: only the online devices of this category of the account.' })),
    withinSeconds: withDefault(Type.Integer({ minimum: 0, maximum: renewWithinMaxSeconds }), 300, {
      description:
        'renew.within.seconds: each device starts its renewal at a random moment within this many seconds, so that an account does not renew in one instant.',
    }),
    reason: withDefault(
      Type.String({
        maxLength: 256,
        pattern: '^[^\\u0000-\\u001F\\u007F-\\u009F]*$',
        description: 'Why, e.g. keyCompromise or CA rollover: kept in the audit event and sent to the devices as the signed message.',
      }),
      '',
    ),
  },
  {
    additionalProperties: false,
    description:
      'Whom to tell: exactly one of clientId (one device) and accountId (every online device of the account, or of one of its categories with category).',
  },
);

export const certificateRenewalSchema = Type.Object(
  {
    renewalId: Type.String({ description: 'The request.id of the commands sent, and the renewalId of the audit event certificate.renewal-requested.' }),
    devicesTold: Type.Integer({
      minimum: 0,
      description: 'The devices of the target the platform records as online, each told by the broker process holding its connection.',
    }),
    withinSeconds: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false, description: 'Accepted: the command went out to the online devices of the target; each renews on its own.' },
);
