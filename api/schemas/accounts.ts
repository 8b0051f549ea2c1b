import { Type } from '@sinclair/typebox';
import { accountNameSchema, AnyObject, dateTimeSchema, idSchema, Nullable, pageQueryProperties, pageSchema, versionSchema, withDefault } from './common.ts';

export const brokerUrlSchema = Nullable(
  Type.String({
    maxLength: 2048,
    pattern: '^mqtts?://(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?/?$',
    description: "mqtt:// or mqtts:// URL of the account's broker; null = the platform's own account broker.",
  }),
);

const configurationTemplateSchema = AnyObject({
  description: 'Template of generated device configurations; ${clientId}, ${account} and ${brokerUrl} are filled in.',
});

export const bundleIdListSchema = Type.Array(idSchema, {
  maxItems: 9,
  uniqueItems: true,
  description: 'At most nine application bundles of the same account.',
});

export const newAccountSchema = Type.Object(
  {
    name: accountNameSchema,
    brokerUrl: withDefault(brokerUrlSchema, null),
    configurationTemplate: withDefault(configurationTemplateSchema, {}),
    defaultBundleIds: withDefault(bundleIdListSchema, [], { description: 'Bundles for devices whose request names none.' }),
  },
  { additionalProperties: false },
);

export const accountPatchSchema = Type.Object(
  {
    version: versionSchema,
    name: Type.Optional(accountNameSchema),
    brokerUrl: Type.Optional(brokerUrlSchema),
    configurationTemplate: Type.Optional(configurationTemplateSchema),
    defaultBundleIds: Type.Optional(bundleIdListSchema),
  },
  { additionalProperties: false, minProperties: 2 },
);

export const accountSchema = Type.Object(
  {
    id: idSchema,
    name: accountNameSchema,
    brokerUrl: brokerUrlSchema,
    configurationTemplate: configurationTemplateSchema,
    defaultBundleIds: bundleIdListSchema,
    createdOn: dateTimeSchema,
    modifiedOn: dateTimeSchema,
    version: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

export const accountPageSchema = pageSchema(accountSchema, 'A page of accounts.');

export const accountListQuerySchema = Type.Object({ ...pageQueryProperties }, { additionalProperties: false });
