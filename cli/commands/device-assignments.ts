import type { Schemas } from '../api-client.ts';
import { defineCommand, type CommandContext, type CommandGroup } from '../command.ts';
import { UsageError } from '../exit-codes.ts';
import { pageOptions, pageQuery } from '../option-values.ts';
import { printFields, printJson, printPageFooter, printTable, type Column } from '../output.ts';

type DeviceAssignment = Schemas['DeviceAssignment'];

const assignmentColumns: readonly Column<DeviceAssignment>[] = [
  { header: 'CLIENT ID', value: (assignment) => assignment.clientId },
  { header: 'GROUP', value: (assignment) => assignment.enrollmentGroupId },
  { header: 'PROVISION BROKER', value: (assignment) => assignment.provisionBrokerUrl },
  { header: 'MODIFIED', value: (assignment) => assignment.modifiedOn },
  { header: 'BY', value: (assignment) => assignment.modifiedBy },
];

function printAssignment(context: CommandContext, assignment: DeviceAssignment): void {
  if (context.out.json) return printJson(context.out, assignment);
  printFields(context.out, [
    ['clientId', assignment.clientId],
    ['enrollmentGroup', assignment.enrollmentGroupId],
    ['provisionBrokerUrl', assignment.provisionBrokerUrl],
    ['modifiedOn', assignment.modifiedOn],
    ['modifiedBy', assignment.modifiedBy],
  ]);
}

/**
 * `provisio device-assignments ...`: one device with a factory certificate moved to another
 * enrollment group or platform instance, effective at its next factory reset (issue 18, PROTOCOL.md §19).
 * Platform-wide: the admin token only.
 */
export const deviceAssignmentsGroup: CommandGroup = {
  name: 'device-assignments',
  summary: 'Move a factory device to another enrollment group or platform (at its next factory reset): list, show, set, delete',
  commands: [
    defineCommand({
      name: 'ls',
      summary: 'List device assignments, oldest change first',
      usage: '[--limit N] [--offset N]',
      options: { ...pageOptions },
      positionals: { min: 0, max: 0 },
      run: async (context, values) => {
        const query = pageQuery(values);
        const client = context.api();
        const page = await client.call(client.client.GET('/api/v1/device-assignments', { params: { query } }));
        if (context.out.json) return printJson(context.out, page);
        printTable(context.out, page.items, assignmentColumns);
        printPageFooter(context.out, page);
      },
    }),
    defineCommand({
      name: 'show',
      summary: 'Show the assignment of a device (by its factory certificate CN)',
      usage: 'CLIENT_ID',
      options: {},
      positionals: { min: 1, max: 1 },
      run: async (context, _values, [clientId]) => {
        const client = context.api();
        printAssignment(context, await client.call(client.client.GET('/api/v1/device-assignments/{clientId}', { params: { path: { clientId: clientId! } } })));
      },
    }),
    defineCommand({
      name: 'set',
      summary: 'Assign a device to an enrollment group and/or a provision broker; replaces its assignment',
      usage: 'CLIENT_ID [--group ID] [--provision-broker-url URL]',
      details:
        'At least one of --group and --provision-broker-url; what is left out is cleared. The move takes effect when the\n' +
        'device next provisions with its factory certificate (after a factory reset); the group must still admit it then.',
      options: {
        group: { type: 'string', value: 'ID', help: 'The enrollment group the device provisions into next time.' },
        'provision-broker-url': {
          type: 'string',
          value: 'URL',
          help: "Where discovery sends the device: another platform's provision broker (mqtt:// or mqtts://).",
        },
      },
      positionals: { min: 1, max: 1 },
      run: async (context, values, [clientId]) => {
        if (values.group === undefined && values['provision-broker-url'] === undefined) {
          throw new UsageError('give --group ID, --provision-broker-url URL or both (`provisio device-assignments delete` removes an assignment)');
        }
        const body: Schemas['DeviceAssignmentInput'] = {
          ...(values.group !== undefined ? { enrollmentGroupId: values.group } : {}),
          ...(values['provision-broker-url'] !== undefined ? { provisionBrokerUrl: values['provision-broker-url'] } : {}),
        };
        const client = context.api();
        const path = { clientId: clientId! };
        printAssignment(context, await client.call(client.client.PUT('/api/v1/device-assignments/{clientId}', { params: { path }, body })));
      },
    }),
    defineCommand({
      name: 'delete',
      summary: 'Remove the assignment of a device: it provisions into the group its certificate matches, on this platform',
      usage: 'CLIENT_ID',
      options: {},
      positionals: { min: 1, max: 1 },
      run: async ({ api, out }, _values, [clientId]) => {
        const client = api();
        await client.send(client.client.DELETE('/api/v1/device-assignments/{clientId}', { params: { path: { clientId: clientId! } } }));
        if (out.json) return printJson(out, { clientId, deleted: true });
        out.stdout(`deleted the assignment of ${clientId}\n`);
      },
    }),
  ],
};
