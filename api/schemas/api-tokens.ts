import { dateTimeSchema, idSchema, type JsonSchema } from './common.ts';

const descriptionSchema: JsonSchema = {
  type: 'string',
  maxLength: 256,
  pattern: '^[^\\u0000-\\u001F\\u007F-\\u009F]*$',
};

export const newApiTokenSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['accountId'],
  properties: {
    accountId: { ...idSchema, description: 'The one account the token may see and change.' },
    description: { ...descriptionSchema, default: '' },
  },
};

export interface NewApiTokenBody {
  readonly accountId: string;
  readonly description: string;
}

export const createdApiTokenSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'accountId', 'description', 'createdOn', 'token'],
  properties: {
    id: { type: 'string' },
    accountId: idSchema,
    description: descriptionSchema,
    createdOn: dateTimeSchema,
    token: { type: 'string', description: 'The bearer token, {id}.{secret}: shown only in this response.' },
  },
};
