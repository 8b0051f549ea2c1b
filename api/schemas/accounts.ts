import { accountNameSchema, dateTimeSchema, idSchema, pageQueryProperties, pageSchema, versionSchema, type JsonSchema, type PageQuery } from './common.ts';

export const brokerUrlSchema: JsonSchema = {
  type: ['string', 'null'],
  maxLength: 2048,
  pattern: '^mqtts?://(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?/?$',
  description: "mqtt:// or mqtts:// URL of the account's broker; null = the platform's own account broker.",
};

const configurationTemplateSchema: JsonSchema = {
  type: 'object',
  description: 'Template of generated device configurations; ${clientId}, ${account} and ${brokerUrl} are filled in.',
};

export const bundleIdListSchema: JsonSchema = {
  type: 'array',
  items: idSchema,
  maxItems: 9,
  uniqueItems: true,
  description: 'At most nine application bundles of the same account.',
};

export const newAccountSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: accountNameSchema,
    brokerUrl: { ...brokerUrlSchema, default: null },
    configurationTemplate: { ...configurationTemplateSchema, default: {} },
    defaultBundleIds: { ...bundleIdListSchema, default: [], description: 'Bundles for devices whose request names none.' },
  },
};

export interface NewAccountBody {
  readonly name: string;
  readonly brokerUrl: string | null;
  readonly configurationTemplate: Record<string, unknown>;
  readonly defaultBundleIds: string[];
}

export const accountPatchSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['version'],
  minProperties: 2,
  properties: {
    version: versionSchema,
    name: accountNameSchema,
    brokerUrl: brokerUrlSchema,
    configurationTemplate: configurationTemplateSchema,
    defaultBundleIds: bundleIdListSchema,
  },
};

export interface AccountPatchBody extends Partial<NewAccountBody> {
  readonly version: number;
}

export const accountSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'brokerUrl', 'configurationTemplate', 'defaultBundleIds', 'createdOn', 'modifiedOn', 'version'],
  properties: {
    id: idSchema,
    name: accountNameSchema,
    brokerUrl: brokerUrlSchema,
    configurationTemplate: configurationTemplateSchema,
    defaultBundleIds: bundleIdListSchema,
    createdOn: dateTimeSchema,
    modifiedOn: dateTimeSchema,
    version: { type: 'integer', minimum: 0 },
  },
};

export const accountPageSchema = pageSchema(accountSchema, 'A page of accounts.');

export const accountListQuerySchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { ...pageQueryProperties },
};

export type AccountListQuery = PageQuery;
