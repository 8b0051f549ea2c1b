import { Type } from '@sinclair/typebox';
import { AnyObject, dateTimeSchema, idSchema, pageQueryProperties, pageSchema, withOptions } from './common.ts';

const configurationNameSchema = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[^\\u0000-\\u001F\\u007F-\\u009F]+$',
});

export const newConfigurationSchema = Type.Object(
  {
    accountId: idSchema,
    name: configurationNameSchema,
    content: AnyObject({ description: 'The configuration sent to the device as it is.' }),
  },
  { additionalProperties: false },
);

export const configurationSchema = Type.Object(
  {
    id: idSchema,
    accountId: idSchema,
    name: configurationNameSchema,
    content: AnyObject(),
    createdOn: dateTimeSchema,
  },
  { additionalProperties: false },
);

export const configurationPageSchema = pageSchema(configurationSchema, 'A page of configurations.');

export const configurationListQuerySchema = Type.Object(
  {
    accountId: Type.Optional(withOptions(idSchema, { description: 'Required with the admin token; an account token sees its own account.' })),
    ...pageQueryProperties,
  },
  { additionalProperties: false },
);
