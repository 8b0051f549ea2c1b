import { Type } from '@sinclair/typebox';
import { jobDeviceStates, updateJobStates } from '../../store/types.ts';
import { bundleIdListSchema } from './accounts.ts';
import { categoryNameSchema, tagListSchema } from './categories.ts';
import { clientIdSchema, dateTimeSchema, idSchema, Nullable, pageQueryProperties, pageSchema, StringEnum, withDefault, withOptions } from './common.ts';

/**
 * Update jobs (issue 15 §4, docs/PROTOCOL.md "Update jobs (JOB-V1)"): bundles and/or a
 * configuration version for the devices of an account that match a target. A device online gets
 * the job at once; one that connects later gets the latest matching job.
 */
const jobNameSchema = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[^\\u0000-\\u001F\\u007F-\\u009F]+$',
  description: 'For operators: 1 to 128 characters, no control characters.',
});

/** A job may name devices one by one; more than this is a category or a tag. */
export const maxJobClientIds = 1000;

const jobStateSchema = StringEnum(updateJobStates, {
  description: 'RUNNING sends the job; PAUSED holds it; CANCELLED (by an operator) and STOPPED (the failure threshold was reached) are final.',
});

const jobDeviceStateSchema = StringEnum(jobDeviceStates, {
  description:
    'PENDING: not sent yet; SENT: sent, no report yet; DOWNLOADING, INSTALLED, FAILED: as the device reported (INSTALLED also when it had everything already).',
});

export const newUpdateJobSchema = Type.Object(
  {
    accountId: idSchema,
    name: jobNameSchema,
    category: Type.Optional(withOptions(categoryNameSchema, { description: 'Target: devices of this category of the account (it must exist). Absent: any.' })),
    tags: withDefault(tagListSchema, [], { description: 'Target: devices carrying every one of these tags. Empty: any.' }),
    clientIds: withDefault(Type.Array(clientIdSchema, { maxItems: maxJobClientIds, uniqueItems: true }), [], {
      description: `Target: only these devices (at most ${maxJobClientIds}). Empty: any.`,
    }),
    bundleIds: withDefault(bundleIdListSchema, [], {
      description: 'Bundles of the account to install. A device that has a bundle of the same name and sha256 is not sent it again.',
    }),
    configurationId: Type.Optional(
      withOptions(idSchema, {
        description: 'A configuration of the account: its current version is fixed into the job, and the platform holds it for each device the job reaches.',
      }),
    ),
    failureThreshold: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'The job stops (STOPPED) once this many devices failed. Absent: never.' }),
    ),
  },
  { additionalProperties: false, description: 'At least one bundle or a configuration.' },
);

const deviceCount = () => Type.Integer({ minimum: 0 });

/** One count per JobDeviceState (store/types.ts jobDeviceStates). */
const jobCountsSchema = Type.Object(
  { PENDING: deviceCount(), SENT: deviceCount(), DOWNLOADING: deviceCount(), INSTALLED: deviceCount(), FAILED: deviceCount() },
  { additionalProperties: false, description: 'How many devices of the job are in each state (a device appears once the job is sent to it).' },
);

const updateJobProperties = {
  id: idSchema,
  accountId: idSchema,
  name: Type.String(),
  category: Nullable(Type.String({ description: 'Target category; null: any.' })),
  tags: Type.Array(Type.String(), { description: 'Target tags (every one); empty: any.' }),
  clientIds: Type.Array(Type.String(), { description: 'Target devices; empty: any.' }),
  bundleIds: Type.Array(idSchema),
  configurationId: Nullable(Type.String()),
  configurationVersion: Nullable(Type.Integer({ minimum: 1, description: 'The configuration version the job sends, fixed when it was created.' })),
  state: jobStateSchema,
  failureThreshold: Nullable(Type.Integer({ minimum: 1 })),
  createdOn: dateTimeSchema,
  createdBy: Type.String(),
  modifiedOn: dateTimeSchema,
  version: Type.Integer({ minimum: 1 }),
};

export const updateJobSchema = Type.Object(updateJobProperties, { additionalProperties: false });

export const updateJobDetailSchema = Type.Object(
  {
    ...updateJobProperties,
    counts: jobCountsSchema,
    matchingDevices: Type.Integer({ minimum: 0, description: 'Devices of the account that match the target now, online or not.' }),
  },
  { additionalProperties: false, description: 'An update job with its per-state device counts.' },
);

export const updateJobPageSchema = pageSchema(updateJobSchema, 'A page of update jobs, the newest first.');

export const updateJobListQuerySchema = Type.Object(
  {
    accountId: Type.Optional(withOptions(idSchema, { description: 'With the admin token: only this account (absent: all). An account token sees its own.' })),
    state: Type.Optional(jobStateSchema),
    ...pageQueryProperties,
  },
  { additionalProperties: false },
);

export const jobDeviceSchema = Type.Object(
  {
    clientId: Type.String(),
    state: jobDeviceStateSchema,
    error: Nullable(Type.String({ description: 'Why it failed, as the device said; null otherwise.' })),
    modifiedOn: dateTimeSchema,
  },
  { additionalProperties: false },
);

export const jobDevicePageSchema = pageSchema(jobDeviceSchema, 'A page of the devices of a job, ordered by clientId.');

export const jobDeviceListQuerySchema = Type.Object(
  {
    state: Type.Optional(jobDeviceStateSchema),
    ...pageQueryProperties,
  },
  { additionalProperties: false },
);
