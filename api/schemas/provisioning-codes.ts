import { Type } from '@sinclair/typebox';
import { categoryNameSchema } from './categories.ts';
import { clientIdSchema, dateTimeSchema, idSchema, Nullable, pageQueryProperties, pageSchema, StringEnum, withDefault, withOptions } from './common.ts';

/**
 * Provisioning codes (issue 18; docs/PROTOCOL.md §18): 12 digits a person types into a device, for
 * an account and a category. The code is in the answer that makes it and nowhere else: the store
 * keeps a keyed hash only, and no list, view or audit event holds either.
 */

/** Codes one request makes at most. */
const maxCodesPerRequest = 1000;

/** The longest validity a code may get (docs/SECURITY.md: a code is a bearer secret). */
const maxCodeValidityDays = 31;

const codeCategorySchema = Nullable(withOptions(categoryNameSchema, { description: 'A category of the account the device gets; null: none.' }));

export const newProvisioningCodesSchema = Type.Object(
  {
    accountId: idSchema,
    category: withDefault(codeCategorySchema, null),
    count: Type.Integer({ minimum: 1, maximum: maxCodesPerRequest, description: `How many codes to make (1 to ${maxCodesPerRequest}).` }),
    validityDays: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: maxCodeValidityDays,
        description: `Days until an unused code expires and is deleted (1 to ${maxCodeValidityDays}); default PROVISIO_PROVISIONING_CODE_VALIDITY_DAYS.`,
      }),
    ),
  },
  { additionalProperties: false },
);

export const createdProvisioningCodesSchema = Type.Object(
  {
    items: Type.Array(
      Type.Object(
        {
          id: idSchema,
          code: Type.String({ pattern: '^[0-9]{4}-[0-9]{4}-[0-9]{4}$', description: 'The code, shown here once: 1234-5678-9012.' }),
          accountId: idSchema,
          category: codeCategorySchema,
          expiresOn: dateTimeSchema,
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, description: 'The codes made, in this answer only: the platform keeps a keyed hash of each.' },
);

const codeStatusSchema = StringEnum(['PENDING', 'REGISTERED'], {
  description: 'PENDING: not used yet, or its device is provisioning; REGISTERED: its device completed provisioning (the code is gone).',
});

export const provisioningCodeSchema = Type.Object(
  {
    id: idSchema,
    accountId: idSchema,
    category: codeCategorySchema,
    status: codeStatusSchema,
    clientId: Nullable(withOptions(clientIdSchema, { description: 'The device that used it (from its first accepted CONNECT on); null: none yet.' })),
    provisionRequestId: Nullable(withOptions(idSchema, { description: 'The provision request made for that device.' })),
    createdOn: dateTimeSchema,
    createdBy: Type.String(),
    expiresOn: dateTimeSchema,
    registeredOn: Nullable(withOptions(dateTimeSchema, { description: 'When its device completed provisioning.' })),
  },
  { additionalProperties: false, description: 'A provisioning code without the code: neither the code nor its hash is ever shown again.' },
);

export const provisioningCodePageSchema = pageSchema(provisioningCodeSchema, 'A page of provisioning codes, oldest first.');

export const provisioningCodeListQuerySchema = Type.Object(
  {
    accountId: Type.Optional(withOptions(idSchema, { description: 'Only this account; an account token sees its own account only.' })),
    status: Type.Optional(codeStatusSchema),
    ...pageQueryProperties,
  },
  { additionalProperties: false },
);
