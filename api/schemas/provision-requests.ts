import { Type, type Static } from '@sinclair/typebox';
import { provisioningCodeUsername } from '../../protocol/enrollment.ts';
import { jobStatuses, requestStatuses } from '../../store/types.ts';
import { bundleIdListSchema } from './accounts.ts';
import { categoryNameSchema, maxTags, tagListSchema } from './categories.ts';
import {
  clientIdSchema,
  dateTimeSchema,
  idSchema,
  Nullable,
  pageQueryProperties,
  pageSchema,
  problemSchema,
  StringEnum,
  versionSchema,
  withDefault,
  withOptions,
} from './common.ts';

const usernameSchema = Type.String({
  minLength: 1,
  maxLength: 256,
  pattern: '^[^\\u0000-\\u001F\\u007F-\\u009F]+$',
  // Reserved: a CONNECT with this user name is a provisioning code's (PROTOCOL.md §18), never a request's password.
  not: { const: provisioningCodeUsername },
  description: `MQTT user name the device connects with (default: the clientId); not \`${provisioningCodeUsername}\`, which is reserved for provisioning codes.`,
});

const passwordSchema = Type.String({
  minLength: 8,
  maxLength: 256,
  description: 'MQTT password (default: a generated 32-character secret). Stored only as a hash.',
});

const retryMaxAttemptsSchema = Type.Integer({
  minimum: 1,
  maximum: 1000,
  description: 'Provisioning attempts the device may make.',
});

const statusSchema = StringEnum(requestStatuses);
const jobStatusSchema = StringEnum(jobStatuses);
const configurationIdSchema = Nullable(
  Type.String({
    minLength: 1,
    maxLength: 128,
    description: "Configuration of the same account sent to the device; null = the category's, else generated from the account template.",
  }),
);

const requestCategorySchema = Nullable(
  withOptions(categoryNameSchema, {
    description: 'A category of the same account the device goes into; its configuration and bundles apply when the request names none. null: none.',
  }),
);

const requestTagsSchema = withOptions(tagListSchema, { description: `Free tags the device gets (at most ${maxTags}); stored sorted, without repeats.` });

export const newProvisionRequestSchema = Type.Object(
  {
    accountId: idSchema,
    clientId: clientIdSchema,
    username: Type.Optional(usernameSchema),
    password: Type.Optional(passwordSchema),
    generateActivationKey: withDefault(Type.Boolean({ description: 'Generate a 32-character activation key the device must send with its request.' }), false),
    activatesOn: Type.Optional(withOptions(dateTimeSchema, { description: 'Not valid before (default: now).' })),
    expiresOn: Type.Optional(withOptions(dateTimeSchema, { description: 'Not valid after (default: now + requestDefaultValidityDays).' })),
    retryMaxAttempts: withDefault(retryMaxAttemptsSchema, 5),
    overwriteIfDuplicate: withDefault(
      Type.Boolean({
        description:
          "Replace this account's request for the clientId instead of answering 409 DUPLICATE. It never claims a clientId another " +
          'account holds, except with the admin token: then it moves the clientId to this account (an ENABLED request of the ' +
          "other account is disabled, and the device's old certificate is revoked when it completes here).",
      }),
      false,
    ),
    configurationId: withDefault(configurationIdSchema, null),
    bundleIds: withDefault(bundleIdListSchema, [], { description: "Bundles to install; empty = the category's, else the account's default bundles." }),
    category: withDefault(requestCategorySchema, null),
    tags: withDefault(requestTagsSchema, []),
    status: withDefault(statusSchema, 'ENABLED'),
  },
  { additionalProperties: false },
);

/** A new request as a handler gets it: validated, defaults filled in. */
export type NewProvisionRequestBody = Static<typeof newProvisionRequestSchema>;

export const maxBatchSize = 1000;

export const provisionRequestBatchSchema = Type.Object(
  {
    requests: Type.Array(newProvisionRequestSchema, { minItems: 1, maxItems: maxBatchSize }),
  },
  { additionalProperties: false },
);

/** Delimiters a CSV batch may use; detected from its header row unless the query names one. */
export const csvDelimiters = [',', ';'] as const;

export const provisionRequestBatchQuerySchema = Type.Object(
  {
    accountId: Type.Optional(withOptions(idSchema, { description: 'CSV bodies only: the account of every row, for a file without an accountId column.' })),
    delimiter: Type.Optional(
      StringEnum(csvDelimiters, {
        description: "CSV bodies only: the field delimiter (default: detected from the header row, ';' when it holds more ';' than ',').",
      }),
    ),
  },
  { additionalProperties: false },
);

export const provisionRequestPatchSchema = Type.Object(
  {
    version: versionSchema,
    activatesOn: Type.Optional(dateTimeSchema),
    expiresOn: Type.Optional(dateTimeSchema),
    retryMaxAttempts: Type.Optional(retryMaxAttemptsSchema),
    password: Type.Optional(passwordSchema),
    configurationId: Type.Optional(configurationIdSchema),
    bundleIds: Type.Optional(bundleIdListSchema),
    category: Type.Optional(requestCategorySchema),
    tags: Type.Optional(requestTagsSchema),
    status: Type.Optional(withOptions(statusSchema, { description: 'ENABLED is refused (409 DUPLICATE) while another account holds the clientId.' })),
  },
  { additionalProperties: false, minProperties: 2 },
);

const deviceFactSchema = Nullable(Type.String({ maxLength: 128 }));

const deviceFactsSchema = Type.Object(
  { model: deviceFactSchema, serial: deviceFactSchema, firmware: deviceFactSchema },
  {
    description:
      'What the device said about itself (the metrics device.model, device.serial, device.firmware) in its last provisioning attempt; null = not sent, or no attempt yet.',
    additionalProperties: false,
  },
);

const provisionRequestProperties = {
  id: idSchema,
  accountId: idSchema,
  clientId: clientIdSchema,
  username: usernameSchema,
  hasActivationKey: Type.Boolean(),
  activatesOn: dateTimeSchema,
  expiresOn: dateTimeSchema,
  retryMaxAttempts: Type.Integer(),
  retryCount: Type.Integer({ minimum: 0 }),
  overwriteIfDuplicate: Type.Boolean(),
  status: statusSchema,
  jobStatus: jobStatusSchema,
  configurationId: configurationIdSchema,
  bundleIds: bundleIdListSchema,
  category: requestCategorySchema,
  tags: requestTagsSchema,
  device: deviceFactsSchema,
  createdOn: dateTimeSchema,
  createdBy: Type.String(),
  modifiedOn: dateTimeSchema,
  modifiedBy: Type.String(),
  version: Type.Integer({ minimum: 0 }),
};

export const provisionRequestSchema = Type.Object(provisionRequestProperties, {
  description: 'A provision request as the API shows it: never a hash or a secret.',
  additionalProperties: false,
});

const credentialsSchema = Type.Object(
  {
    username: Type.String(),
    password: Type.String(),
    activationKey: Type.Optional(Type.String()),
  },
  { description: 'The device credentials, shown only in the creation response.', additionalProperties: false },
);

export const createdProvisionRequestSchema = Type.Object(
  { ...provisionRequestProperties, credentials: credentialsSchema },
  { description: 'The new provision request with its credentials (shown once).', additionalProperties: false },
);

export const provisionRequestPageSchema = pageSchema(provisionRequestSchema, 'A page of provision requests.');

export const provisionRequestListQuerySchema = Type.Object(
  {
    accountId: Type.Optional(idSchema),
    clientId: Type.Optional(Type.Array(clientIdSchema, { maxItems: 1000, description: 'Repeat the parameter or separate with commas.' })),
    category: Type.Optional(withOptions(categoryNameSchema, { description: 'Requests naming this category.' })),
    status: Type.Optional(Type.Array(statusSchema, { maxItems: 2 })),
    jobStatus: Type.Optional(Type.Array(jobStatusSchema, { maxItems: jobStatuses.length })),
    startDate: Type.Optional(withOptions(dateTimeSchema, { description: 'Created at or after.' })),
    endDate: Type.Optional(withOptions(dateTimeSchema, { description: 'Created at or before.' })),
    ...pageQueryProperties,
  },
  { additionalProperties: false },
);

export const provisionRequestBatchResultSchema = Type.Object(
  {
    created: Type.Array(createdProvisionRequestSchema),
    failed: Type.Array(
      Type.Object(
        {
          index: Type.Integer({ minimum: 0, description: 'Position in the submitted list.' }),
          clientId: Type.String(),
          problem: problemSchema,
        },
        { additionalProperties: false },
      ),
    ),
  },
  { description: 'What a batch created, in input order, and which items failed and why.', additionalProperties: false },
);
