import { jobStatuses, requestStatuses, type JobStatus, type RequestStatus } from '../../store/types.ts';
import { bundleIdListSchema } from './accounts.ts';
import {
  clientIdSchema,
  dateTimeSchema,
  idSchema,
  pageQueryProperties,
  pageSchema,
  problemSchema,
  versionSchema,
  type JsonSchema,
  type PageQuery,
} from './common.ts';

const usernameSchema: JsonSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 256,
  pattern: '^[^\\u0000-\\u001F\\u007F-\\u009F]+$',
  description: 'MQTT user name the device connects with (default: the clientId).',
};

const passwordSchema: JsonSchema = {
  type: 'string',
  minLength: 8,
  maxLength: 256,
  description: 'MQTT password (default: a generated 32-character secret). Stored only as a hash.',
};

const retryMaxAttemptsSchema: JsonSchema = {
  type: 'integer',
  minimum: 1,
  maximum: 1000,
  description: 'Provisioning attempts the device may make.',
};

const statusSchema: JsonSchema = { type: 'string', enum: [...requestStatuses] };
const jobStatusSchema: JsonSchema = { type: 'string', enum: [...jobStatuses] };
const configurationIdSchema: JsonSchema = {
  type: ['string', 'null'],
  minLength: 1,
  maxLength: 128,
  description: 'Configuration of the same account sent to the device; null = generated from the account template.',
};

export const newProvisionRequestSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['accountId', 'clientId'],
  properties: {
    accountId: idSchema,
    clientId: clientIdSchema,
    username: usernameSchema,
    password: passwordSchema,
    generateActivationKey: {
      type: 'boolean',
      default: false,
      description: 'Generate a 32-character activation key the device must send with its request.',
    },
    activatesOn: { ...dateTimeSchema, description: 'Not valid before (default: now).' },
    expiresOn: { ...dateTimeSchema, description: 'Not valid after (default: now + requestDefaultValidityDays).' },
    retryMaxAttempts: { ...retryMaxAttemptsSchema, default: 5 },
    overwriteIfDuplicate: {
      type: 'boolean',
      default: false,
      description:
        "Replace this account's request for the clientId instead of answering 409 DUPLICATE. It never claims a clientId another " +
        'account holds, except with the admin token: then it moves the clientId to this account (an ENABLED request of the ' +
        "other account is disabled, and the device's old certificate is revoked when it completes here).",
    },
    configurationId: { ...configurationIdSchema, default: null },
    bundleIds: { ...bundleIdListSchema, default: [], description: "Bundles to install; empty = the account's default bundles." },
    status: { ...statusSchema, default: 'ENABLED' },
  },
};

export interface NewProvisionRequestBody {
  readonly accountId: string;
  readonly clientId: string;
  readonly username?: string;
  readonly password?: string;
  readonly generateActivationKey: boolean;
  readonly activatesOn?: string;
  readonly expiresOn?: string;
  readonly retryMaxAttempts: number;
  readonly overwriteIfDuplicate: boolean;
  readonly configurationId: string | null;
  readonly bundleIds: string[];
  readonly status: RequestStatus;
}

export const maxBatchSize = 1000;

export const provisionRequestBatchSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['requests'],
  properties: {
    requests: { type: 'array', minItems: 1, maxItems: maxBatchSize, items: newProvisionRequestSchema },
  },
};

export interface ProvisionRequestBatchBody {
  readonly requests: NewProvisionRequestBody[];
}

export const provisionRequestPatchSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['version'],
  minProperties: 2,
  properties: {
    version: versionSchema,
    activatesOn: dateTimeSchema,
    expiresOn: dateTimeSchema,
    retryMaxAttempts: retryMaxAttemptsSchema,
    password: passwordSchema,
    configurationId: configurationIdSchema,
    bundleIds: bundleIdListSchema,
    status: { ...statusSchema, description: 'ENABLED is refused (409 DUPLICATE) while another account holds the clientId.' },
  },
};

export interface ProvisionRequestPatchBody {
  readonly version: number;
  readonly activatesOn?: string;
  readonly expiresOn?: string;
  readonly retryMaxAttempts?: number;
  readonly password?: string;
  readonly configurationId?: string | null;
  readonly bundleIds?: string[];
  readonly status?: RequestStatus;
}

const deviceFactSchema: JsonSchema = { type: ['string', 'null'], maxLength: 128 };

const deviceFactsSchema: JsonSchema = {
  type: 'object',
  description:
    'What the device said about itself (the metrics device.model, device.serial, device.firmware) in its last provisioning attempt; null = not sent, or no attempt yet.',
  additionalProperties: false,
  required: ['model', 'serial', 'firmware'],
  properties: { model: deviceFactSchema, serial: deviceFactSchema, firmware: deviceFactSchema },
};

const provisionRequestProperties = {
  id: idSchema,
  accountId: idSchema,
  clientId: clientIdSchema,
  username: usernameSchema,
  hasActivationKey: { type: 'boolean' },
  activatesOn: dateTimeSchema,
  expiresOn: dateTimeSchema,
  retryMaxAttempts: { type: 'integer' },
  retryCount: { type: 'integer', minimum: 0 },
  overwriteIfDuplicate: { type: 'boolean' },
  status: statusSchema,
  jobStatus: jobStatusSchema,
  configurationId: configurationIdSchema,
  bundleIds: bundleIdListSchema,
  device: deviceFactsSchema,
  createdOn: dateTimeSchema,
  createdBy: { type: 'string' },
  modifiedOn: dateTimeSchema,
  modifiedBy: { type: 'string' },
  version: { type: 'integer', minimum: 0 },
} satisfies Record<string, JsonSchema>;

export const provisionRequestSchema: JsonSchema = {
  type: 'object',
  description: 'A provision request as the API shows it: never a hash or a secret.',
  additionalProperties: false,
  required: Object.keys(provisionRequestProperties),
  properties: provisionRequestProperties,
};

export const credentialsSchema: JsonSchema = {
  type: 'object',
  description: 'The device credentials, shown only in the creation response.',
  additionalProperties: false,
  required: ['username', 'password'],
  properties: {
    username: { type: 'string' },
    password: { type: 'string' },
    activationKey: { type: 'string' },
  },
};

export const createdProvisionRequestSchema: JsonSchema = {
  type: 'object',
  description: 'The new provision request with its credentials (shown once).',
  additionalProperties: false,
  required: [...Object.keys(provisionRequestProperties), 'credentials'],
  properties: { ...provisionRequestProperties, credentials: credentialsSchema },
};

export const provisionRequestPageSchema = pageSchema(provisionRequestSchema, 'A page of provision requests.');

export const provisionRequestListQuerySchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    accountId: idSchema,
    clientId: { type: 'array', items: clientIdSchema, maxItems: 1000, description: 'Repeat the parameter or separate with commas.' },
    status: { type: 'array', items: statusSchema, maxItems: 2 },
    jobStatus: { type: 'array', items: jobStatusSchema, maxItems: jobStatuses.length },
    startDate: { ...dateTimeSchema, description: 'Created at or after.' },
    endDate: { ...dateTimeSchema, description: 'Created at or before.' },
    ...pageQueryProperties,
  },
};

export interface ProvisionRequestListQuery extends PageQuery {
  readonly accountId?: string;
  readonly clientId?: string[];
  readonly status?: RequestStatus[];
  readonly jobStatus?: JobStatus[];
  readonly startDate?: string;
  readonly endDate?: string;
}

export const provisionRequestBatchResultSchema: JsonSchema = {
  type: 'object',
  description: 'What a batch created, in input order, and which items failed and why.',
  additionalProperties: false,
  required: ['created', 'failed'],
  properties: {
    created: { type: 'array', items: createdProvisionRequestSchema },
    failed: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['index', 'clientId', 'problem'],
        properties: {
          index: { type: 'integer', minimum: 0, description: 'Position in the submitted list.' },
          clientId: { type: 'string' },
          problem: problemSchema,
        },
      },
    },
  },
};
