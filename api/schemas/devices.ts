import { Type, type TUnsafe } from '@sinclair/typebox';
import { configurationStates, jobDeviceStates, type ConfigurationState } from '../../store/types.ts';
import { auditEventSchema } from './audit-events.ts';
import { categoryNameSchema, maxTags, tagListSchema, tagSchema } from './categories.ts';
import { serialSchema } from './certificates.ts';
import { clientIdSchema, dateTimeSchema, idSchema, Nullable, pageQueryProperties, pageSchema, StringEnum, withOptions } from './common.ts';

const nullableDateTime = (description: string) => Nullable(Type.String({ format: 'date-time', description }));

/** `type: ['string', 'null']` with the states and null as its enum (Nullable takes plain strings only). */
const configurationStateSchema: TUnsafe<ConfigurationState | null> = Type.Unsafe<ConfigurationState | null>({
  type: ['string', 'null'],
  enum: [...configurationStates, null],
  description: 'Of the expected configuration: PENDING (sent, not answered), APPLIED, REFUSED (configurationError says why); null = nothing sent yet.',
});

const installedBundleSchema = Type.Object(
  {
    name: Type.String(),
    version: Type.String(),
    sha256: Type.String(),
  },
  { additionalProperties: false },
);

/** A root certificate named as a device names it in its birth (trust.roots): lower-case hex SHA-256 of its DER. */
const rootFingerprintSchema = Type.String({ pattern: '^[0-9a-f]{64}$' });

/**
 * What a device of the registry (issue 15 §1) shows, in the list and in GET /devices/{id}. Tags
 * and category names follow the rules of categories.ts.
 */
const deviceProperties = {
  id: idSchema,
  accountId: idSchema,
  clientId: Type.String(),
  online: Type.Boolean({ description: 'Connected to an account broker now.' }),
  brokerId: Nullable(Type.String({ description: 'The broker process it is connected to, or was last seen on; null before its first birth.' })),
  category: Nullable(withOptions(categoryNameSchema, { description: 'The category of its account it is in; null: none.' })),
  tags: Type.Array(Type.String(), { description: 'Sorted, without repeats.' }),
  model: Nullable(Type.String({ description: 'As the device said (provision request, then each birth); null: never said.' })),
  serial: Nullable(Type.String()),
  firmware: Nullable(Type.String()),
  certificateSerial: Nullable(withOptions(serialSchema, { description: 'Serial of its current certificate.' })),
  certificateNotAfter: nullableDateTime('When that certificate expires.'),
  configurationId: Nullable(Type.String({ description: 'The configuration the platform holds for it; null: the account template.' })),
  configurationVersion: Nullable(Type.Integer({ minimum: 1 })),
  expectedConfigurationHash: Nullable(Type.String({ description: 'Hash of the configuration it should run.' })),
  reportedConfigurationHash: Nullable(Type.String({ description: 'Hash it last reported (birth or acknowledgement).' })),
  configurationState: configurationStateSchema,
  configurationError: Nullable(Type.String({ description: 'Why the device refused the configuration.' })),
  bundles: Type.Array(installedBundleSchema, { description: 'Application bundles it runs, as last known.' }),
  trustedRoots: Type.Array(rootFingerprintSchema, {
    description: 'The roots it said it trusts at its last birth that said (trust.roots): SHA-256 (hex) of each root certificate, sorted. Empty: never said.',
  }),
  provisionedOn: nullableDateTime('When it was first provisioned.'),
  lastBirthOn: nullableDateTime('Its last birth message.'),
  lastSeenOn: nullableDateTime('When it last connected or disconnected.'),
  modifiedOn: dateTimeSchema,
};

export const deviceSchema = Type.Object(deviceProperties, { additionalProperties: false });

const deviceJobSchema = Type.Object(
  {
    jobId: idSchema,
    state: StringEnum(jobDeviceStates),
    error: Nullable(Type.String({ description: 'Why it failed, as the device said.' })),
    modifiedOn: dateTimeSchema,
  },
  { additionalProperties: false },
);

const deviceCertificateSchema = Type.Object(
  {
    serial: serialSchema,
    status: StringEnum(['VALID', 'REVOKED']),
    notBefore: dateTimeSchema,
    notAfter: dateTimeSchema,
    revokedOn: nullableDateTime('When it was revoked.'),
  },
  { additionalProperties: false },
);

export const deviceDetailSchema = Type.Object(
  {
    ...deviceProperties,
    jobs: Type.Array(deviceJobSchema, { description: 'The update jobs that touched it, newest job first.' }),
    audit: Type.Array(auditEventSchema, { description: 'The newest 50 audit events of its account and clientId, newest first.' }),
    certificates: Type.Array(deviceCertificateSchema, { description: 'The certificates its account was issued for its clientId, oldest first.' }),
  },
  { additionalProperties: false, description: 'A device with its jobs, audit trail and certificates.' },
);

export const devicePageSchema = pageSchema(deviceSchema, 'A page of devices, ordered by clientId.');

const factFilter = (fact: string) => Type.String({ minLength: 1, maxLength: 256, description: `Devices whose ${fact} is exactly this.` });

export const deviceListQuerySchema = Type.Object(
  {
    accountId: Type.Optional(withOptions(idSchema, { description: 'Required with the admin token; an account token sees its own account.' })),
    clientId: Type.Optional(withOptions(clientIdSchema, { description: 'The device with this clientId.' })),
    category: Type.Optional(withOptions(categoryNameSchema, { description: 'Devices in this category.' })),
    tag: Type.Optional(withOptions(tagSchema, { description: 'Devices carrying this tag.' })),
    online: Type.Optional(Type.Boolean({ description: 'Devices connected now (true) or not (false).' })),
    configurationInSync: Type.Optional(
      Type.Boolean({
        description:
          'true: the reported configuration hash equals the expected one; false: it differs or none was reported. Devices with no expected hash match neither.',
      }),
    ),
    certificateExpiresBefore: Type.Optional(
      withOptions(dateTimeSchema, { description: 'Devices whose certificate expires before this (devices without one never match).' }),
    ),
    model: Type.Optional(factFilter('model')),
    firmware: Type.Optional(factFilter('firmware')),
    trustsRoot: Type.Optional(
      withOptions(rootFingerprintSchema, {
        description: 'Devices that reported this root among those they trust: before retiring a root, the count of devices that know the next one.',
      }),
    ),
    ...pageQueryProperties,
  },
  { additionalProperties: false },
);

export const devicePatchSchema = Type.Object(
  {
    category: Type.Optional(
      Nullable(withOptions(categoryNameSchema, { description: 'Move the device to this category of its account (it must exist); null: to none.' })),
    ),
    tags: Type.Optional(withOptions(tagListSchema, { description: `Replace its tags (at most ${maxTags}); stored sorted, without repeats.` })),
  },
  { additionalProperties: false, minProperties: 1 },
);
