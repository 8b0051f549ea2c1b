import { Type } from '@sinclair/typebox';
import { brokerUrlSchema } from './accounts.ts';
import { clientIdSchema, dateTimeSchema, idSchema, Nullable, pageQueryProperties, pageSchema, withDefault, withOptions } from './common.ts';

/**
 * Device assignments (issue 18; docs/PROTOCOL.md §19): an operator moves one device with a factory
 * certificate to another enrollment group or another platform instance. Platform-wide records, as
 * manufacturer CAs are.
 */

const assignedGroupSchema = Nullable(
  withOptions(idSchema, { description: 'The enrollment group the device provisions into next time; null: the one its certificate matches.' }),
);

const assignedBrokerSchema = withOptions(brokerUrlSchema, {
  description: "The provision broker discovery sends the device to (another platform instance); null: the group's, or this platform's.",
});

export const deviceAssignmentInputSchema = Type.Object(
  {
    enrollmentGroupId: withDefault(assignedGroupSchema, null),
    provisionBrokerUrl: withDefault(assignedBrokerSchema, null),
  },
  { additionalProperties: false, description: 'Replaces the assignment; a field left out is null. At least one must be set (DELETE removes it).' },
);

export const deviceAssignmentSchema = Type.Object(
  {
    clientId: clientIdSchema,
    enrollmentGroupId: assignedGroupSchema,
    provisionBrokerUrl: assignedBrokerSchema,
    modifiedOn: dateTimeSchema,
    modifiedBy: Type.String(),
  },
  { additionalProperties: false },
);

export const deviceAssignmentPageSchema = pageSchema(deviceAssignmentSchema, 'A page of device assignments, oldest change first.');

export const deviceAssignmentListQuerySchema = Type.Object({ ...pageQueryProperties }, { additionalProperties: false });
