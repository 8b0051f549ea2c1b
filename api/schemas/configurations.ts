import { dateTimeSchema, idSchema, pageQueryProperties, pageSchema, type JsonSchema, type PageQuery } from './common.ts';

const configurationNameSchema: JsonSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 128,
  pattern: '^[^\\u0000-\\u001F\\u007F-\\u009F]+$',
};

export const newConfigurationSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['accountId', 'name', 'content'],
  properties: {
    accountId: idSchema,
    name: configurationNameSchema,
    content: { type: 'object', description: 'The configuration sent to the device as it is.' },
  },
};

export interface NewConfigurationBody {
  readonly accountId: string;
  readonly name: string;
  readonly content: Record<string, unknown>;
}

export const configurationSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'accountId', 'name', 'content', 'createdOn'],
  properties: {
    id: idSchema,
    accountId: idSchema,
    name: configurationNameSchema,
    content: { type: 'object' },
    createdOn: dateTimeSchema,
  },
};

export const configurationPageSchema = pageSchema(configurationSchema, 'A page of configurations.');

export const configurationListQuerySchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    accountId: { ...idSchema, description: 'Required with the admin token; an account token sees its own account.' },
    ...pageQueryProperties,
  },
};

export interface ConfigurationListQuery extends PageQuery {
  readonly accountId?: string;
}
