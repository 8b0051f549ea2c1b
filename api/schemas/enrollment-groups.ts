import { Type } from '@sinclair/typebox';
import { brokerUrlSchema, bundleIdListSchema } from './accounts.ts';
import { categoryNameSchema, tagListSchema } from './categories.ts';
import { clientIdSchema, dateTimeSchema, idSchema, Nullable, pageQueryProperties, pageSchema, versionSchema, withDefault, withOptions } from './common.ts';
import { factorySerialSchema, manufacturerCaNameSchema } from './manufacturer-cas.ts';

/**
 * Enrollment groups (issue 18; docs/PROTOCOL.md §17): which devices with a factory certificate of a
 * manufacturer CA provision into an account on their own, and what their provision request says.
 * They belong to an account, as categories do.
 */

const groupNameSchema = withOptions(manufacturerCaNameSchema, { description: 'Unique in the account: 1 to 128 characters, no control characters.' });

/** Lists a production batch may fill: bounded, the JSON body limit bounds them further. */
const maxListedDevices = 10_000;

const serialListSchema = (description: string) => Type.Array(factorySerialSchema, { maxItems: maxListedDevices, description });
const clientIdListSchema = (description: string) => Type.Array(clientIdSchema, { maxItems: maxListedDevices, description });

/** The fields a group is created with and may change (all but its account and its CA), each once. */
const groupFields = {
  name: groupNameSchema,
  category: Nullable(withOptions(categoryNameSchema, { description: 'A category of the account the devices get; null: none.' })),
  configurationId: Nullable(withOptions(idSchema, { description: "A configuration of the account for the devices; null: the category's or the account's." })),
  bundleIds: withOptions(bundleIdListSchema, { description: "At most nine bundles of the account for the devices; empty: the category's or the account's." }),
  tags: withOptions(tagListSchema, { description: 'Tags the devices get; stored sorted, without repeats.' }),
  allowSerials: serialListSchema('Not empty: only factory certificates of these serials are admitted.'),
  allowClientIds: clientIdListSchema('Not empty: only devices of these clientIds (certificate CNs) are admitted.'),
  denySerials: serialListSchema('Factory certificates of these serials are refused.'),
  denyClientIds: clientIdListSchema('Devices of these clientIds are refused.'),
  validFrom: Nullable(withOptions(dateTimeSchema, { description: 'Devices are admitted from then on; null: at once.' })),
  validUntil: Nullable(withOptions(dateTimeSchema, { description: 'Devices are admitted until then (after validFrom); null: no end.' })),
  reprovisionAllowed: withOptions(Type.Boolean(), {
    description: 'true: a device that completed provisioning may provision again with its factory certificate (after a factory reset).',
  }),
  provisionBrokerUrl: withOptions(brokerUrlSchema, {
    description: "Where discovery sends the group's devices: another platform instance's provision broker (mqtt:// or mqtts://); null: this platform's.",
  }),
  enabled: withOptions(Type.Boolean(), {
    description: 'false: no device is admitted, and the live provision-broker sessions of the devices it admitted end.',
  }),
};

export const newEnrollmentGroupSchema = Type.Object(
  {
    accountId: idSchema,
    name: groupFields.name,
    manufacturerCaId: withOptions(idSchema, { description: 'The manufacturer CA whose factory certificates the group takes.' }),
    category: withDefault(groupFields.category, null),
    configurationId: withDefault(groupFields.configurationId, null),
    bundleIds: withDefault(groupFields.bundleIds, []),
    tags: withDefault(groupFields.tags, []),
    allowSerials: withDefault(groupFields.allowSerials, []),
    allowClientIds: withDefault(groupFields.allowClientIds, []),
    denySerials: withDefault(groupFields.denySerials, []),
    denyClientIds: withDefault(groupFields.denyClientIds, []),
    validFrom: withDefault(groupFields.validFrom, null),
    validUntil: withDefault(groupFields.validUntil, null),
    reprovisionAllowed: withDefault(groupFields.reprovisionAllowed, false),
    provisionBrokerUrl: withDefault(groupFields.provisionBrokerUrl, null),
    enabled: withDefault(groupFields.enabled, true),
  },
  { additionalProperties: false },
);

export const enrollmentGroupPatchSchema = Type.Object(
  {
    version: versionSchema,
    name: Type.Optional(groupFields.name),
    category: Type.Optional(groupFields.category),
    configurationId: Type.Optional(groupFields.configurationId),
    bundleIds: Type.Optional(groupFields.bundleIds),
    tags: Type.Optional(groupFields.tags),
    allowSerials: Type.Optional(groupFields.allowSerials),
    allowClientIds: Type.Optional(groupFields.allowClientIds),
    denySerials: Type.Optional(groupFields.denySerials),
    denyClientIds: Type.Optional(groupFields.denyClientIds),
    validFrom: Type.Optional(groupFields.validFrom),
    validUntil: Type.Optional(groupFields.validUntil),
    reprovisionAllowed: Type.Optional(groupFields.reprovisionAllowed),
    provisionBrokerUrl: Type.Optional(groupFields.provisionBrokerUrl),
    enabled: Type.Optional(groupFields.enabled),
  },
  { additionalProperties: false, minProperties: 2, description: 'The account and the manufacturer CA never change.' },
);

const storedSerialListSchema = Type.Array(Type.String({ pattern: '^[0-9a-f]+$' }), { description: 'Lower-case hex, no leading zero bytes.' });

export const enrollmentGroupSchema = Type.Object(
  {
    id: idSchema,
    accountId: idSchema,
    name: groupFields.name,
    manufacturerCaId: idSchema,
    category: groupFields.category,
    configurationId: groupFields.configurationId,
    bundleIds: groupFields.bundleIds,
    tags: groupFields.tags,
    allowSerials: storedSerialListSchema,
    allowClientIds: groupFields.allowClientIds,
    denySerials: storedSerialListSchema,
    denyClientIds: groupFields.denyClientIds,
    validFrom: groupFields.validFrom,
    validUntil: groupFields.validUntil,
    reprovisionAllowed: groupFields.reprovisionAllowed,
    provisionBrokerUrl: groupFields.provisionBrokerUrl,
    enabled: groupFields.enabled,
    createdOn: dateTimeSchema,
    modifiedOn: dateTimeSchema,
    version: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

export const enrollmentGroupPageSchema = pageSchema(enrollmentGroupSchema, 'A page of enrollment groups, oldest first.');

export const enrollmentGroupListQuerySchema = Type.Object(
  {
    accountId: Type.Optional(withOptions(idSchema, { description: 'Only this account; an account token sees its own account only.' })),
    manufacturerCaId: Type.Optional(withOptions(idSchema, { description: 'Only groups on this manufacturer CA.' })),
    ...pageQueryProperties,
  },
  { additionalProperties: false },
);
