import { dateTimeSchema, idSchema, pageQueryProperties, pageSchema, type JsonSchema, type PageQuery } from './common.ts';

const bundleNameSchema: JsonSchema = { type: 'string', pattern: '^[A-Za-z0-9._-]{1,128}$' };
const bundleVersionSchema: JsonSchema = { type: 'string', pattern: '^[A-Za-z0-9._+-]{1,64}$' };
export const sha256HexSchema: JsonSchema = { type: 'string', pattern: '^[0-9a-fA-F]{64}$' };

export const bundleUploadQuerySchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['accountId', 'name', 'version'],
  properties: {
    accountId: idSchema,
    name: { ...bundleNameSchema, description: 'Bundle name, e.g. org.example.heater.' },
    version: { ...bundleVersionSchema, description: 'Bundle version, e.g. 1.0.2.' },
  },
};

export interface BundleUploadQuery {
  readonly accountId: string;
  readonly name: string;
  readonly version: string;
}

export const bundleSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'accountId', 'name', 'version', 'size', 'sha256', 'createdOn'],
  properties: {
    id: idSchema,
    accountId: idSchema,
    name: bundleNameSchema,
    version: bundleVersionSchema,
    size: { type: 'integer', minimum: 0, description: 'Bytes.' },
    sha256: { ...sha256HexSchema, description: 'Hex sha256 of the content.' },
    createdOn: dateTimeSchema,
  },
};

export const bundlePageSchema = pageSchema(bundleSchema, 'A page of bundles.');

export const bundleListQuerySchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    accountId: { ...idSchema, description: 'Required with the admin token; an account token sees its own account.' },
    ...pageQueryProperties,
  },
};

export interface BundleListQuery extends PageQuery {
  readonly accountId?: string;
}

export const bundleDownloadQuerySchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['token'],
  properties: {
    token: { type: 'string', minLength: 1, maxLength: 1024, description: 'Signed download token from the provisioning reply.' },
  },
};

export interface BundleDownloadQuery {
  readonly token: string;
}
