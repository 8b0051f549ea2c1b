import { Type } from '@sinclair/typebox';
import { dateTimeSchema, idSchema, withDefault, withOptions } from './common.ts';

const descriptionSchema = Type.String({
  maxLength: 256,
  pattern: '^[^\\u0000-\\u001F\\u007F-\\u009F]*$',
});

export const newApiTokenSchema = Type.Object(
  {
    accountId: withOptions(idSchema, { description: 'The one account the token may see and change.' }),
    description: withDefault(descriptionSchema, ''),
  },
  { additionalProperties: false },
);

export const createdApiTokenSchema = Type.Object(
  {
    id: Type.String(),
    accountId: idSchema,
    description: descriptionSchema,
    createdOn: dateTimeSchema,
    token: Type.String({ description: 'The bearer token, {id}.{secret}: shown only in this response.' }),
  },
  { additionalProperties: false },
);
