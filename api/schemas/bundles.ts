import { Type } from '@sinclair/typebox';
import { dateTimeSchema, idSchema, pageQueryProperties, pageSchema, withOptions } from './common.ts';

const bundleNameSchema = Type.String({ pattern: '^[A-Za-z0-9._-]{1,128}$' });
const bundleVersionSchema = Type.String({ pattern: '^[A-Za-z0-9._+-]{1,64}$' });
export const sha256HexSchema = Type.String({ pattern: '^[0-9a-fA-F]{64}$' });

export const bundleUploadQuerySchema = Type.Object(
  {
    accountId: idSchema,
    name: withOptions(bundleNameSchema, { description: 'Bundle name, e.g. org.example.heater.' }),
    version: withOptions(bundleVersionSchema, { description: 'Bundle version, e.g. 1.0.2.' }),
  },
  { additionalProperties: false },
);

export const bundleSchema = Type.Object(
  {
    id: idSchema,
    accountId: idSchema,
    name: bundleNameSchema,
    version: bundleVersionSchema,
    size: Type.Integer({ minimum: 0, description: 'Bytes.' }),
    sha256: withOptions(sha256HexSchema, { description: 'Hex sha256 of the content.' }),
    createdOn: dateTimeSchema,
  },
  { additionalProperties: false },
);

export const bundlePageSchema = pageSchema(bundleSchema, 'A page of bundles.');

export const bundleListQuerySchema = Type.Object(
  {
    accountId: Type.Optional(withOptions(idSchema, { description: 'Required with the admin token; an account token sees its own account.' })),
    ...pageQueryProperties,
  },
  { additionalProperties: false },
);

export const bundleDownloadQuerySchema = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 1024, description: 'Signed download token from the provisioning reply.' }),
  },
  { additionalProperties: false },
);
