import { Type } from '@sinclair/typebox';
import { AnyObject, dateTimeSchema, idSchema, pageQueryProperties, pageSchema, versionSchema, withOptions } from './common.ts';

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
    content: AnyObject({ description: 'The content of the current version.' }),
    version: withOptions(versionSchema, { description: 'The current version: 1 when created, one more at each edit (the old ones are kept).' }),
    createdOn: dateTimeSchema,
    modifiedOn: withOptions(dateTimeSchema, { description: 'When the current version was made.' }),
  },
  { additionalProperties: false },
);

export const configurationEditSchema = Type.Object(
  {
    version: withOptions(versionSchema, { description: 'The version the edit starts from: 409 VERSION_CONFLICT when another edit came first.' }),
    content: AnyObject({ description: 'The new content: it becomes the next version, sent at once to the online devices that hold this configuration.' }),
  },
  { additionalProperties: false },
);

export const configurationVersionSchema = Type.Object(
  {
    configurationId: idSchema,
    version: versionSchema,
    content: AnyObject(),
    createdOn: dateTimeSchema,
    createdBy: Type.String({ description: 'Who made it (the token).' }),
  },
  { additionalProperties: false },
);

export const configurationVersionPageSchema = pageSchema(configurationVersionSchema, 'A page of versions of a configuration, the newest first.');

export const configurationVersionListQuerySchema = Type.Object({ ...pageQueryProperties }, { additionalProperties: false });

export const configurationPageSchema = pageSchema(configurationSchema, 'A page of configurations.');

export const configurationListQuerySchema = Type.Object(
  {
    accountId: Type.Optional(withOptions(idSchema, { description: 'Required with the admin token; an account token sees its own account.' })),
    ...pageQueryProperties,
  },
  { additionalProperties: false },
);
