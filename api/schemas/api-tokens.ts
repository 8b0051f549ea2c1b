import { Type } from '@sinclair/typebox';
import { tokenScopes } from '../token-scopes.ts';
import { dateTimeSchema, idSchema, Nullable, StringEnum, withDefault, withOptions } from './common.ts';

const descriptionSchema = Type.String({
  maxLength: 256,
  pattern: '^[^\\u0000-\\u001F\\u007F-\\u009F]*$',
});

const scopeSchema = StringEnum(tokenScopes, {
  description:
    'read: GET routes only. operator: also changes provision requests, devices, categories, configurations, bundles, update jobs and certificates. admin: also accounts and API tokens.',
});

export const newApiTokenSchema = Type.Object(
  {
    accountId: Type.Optional(
      withOptions(Nullable(idSchema), {
        description: 'The one account the token may see and change; absent or null: every account (a global token, created by a global admin).',
      }),
    ),
    scope: withDefault(scopeSchema, 'operator', {
      description: 'What the token may do; never more than the scope of the token creating it. Default operator.',
    }),
    description: withDefault(descriptionSchema, ''),
    expiresOn: Type.Optional(withOptions(dateTimeSchema, { description: 'When the token stops working (in the future); absent: never.' })),
  },
  { additionalProperties: false },
);

const apiTokenProperties = {
  id: Type.String(),
  accountId: Nullable(idSchema),
  scope: scopeSchema,
  description: descriptionSchema,
  createdOn: dateTimeSchema,
  createdBy: Nullable(Type.String({ description: "The actor that created it: 'admin' or a token id." })),
  expiresOn: Nullable(dateTimeSchema),
  lastUsedOn: Nullable(withOptions(dateTimeSchema, { description: 'When it last authenticated a request, to within a minute.' })),
  revokedOn: Nullable(dateTimeSchema),
  state: StringEnum(['active', 'expired', 'revoked'] as const),
};

/** A token as listed: never its secret or its hash. */
export const apiTokenSchema = Type.Object(apiTokenProperties, { additionalProperties: false });

export const apiTokenListSchema = Type.Object(
  { items: Type.Array(apiTokenSchema) },
  { additionalProperties: false, description: 'Every API token the caller may see (of its account, or all for a global token), in id order.' },
);

export const createdApiTokenSchema = Type.Object(
  {
    ...apiTokenProperties,
    token: Type.String({ description: 'The bearer token, {id}.{secret}: shown only in this response.' }),
  },
  { additionalProperties: false },
);
