import { PlatformError } from '../../errors/platform-error.ts';
import type { DeviceAssignment } from '../../store/types.ts';
import { requireAdmin } from '../access.ts';
import type { Principal } from '../auth.ts';
import { deviceAssignmentView } from '../enrollment-views.ts';
import { invalid } from '../problem.ts';
import type { RouteDeps } from '../route-deps.ts';
import { apiPrefix, defineRoute, type ApiRoute } from '../route-spec.ts';
import { clientIdSchema } from '../schemas/common.ts';
import { pageView } from '../views.ts';

const tag = 'device-assignments';
const base = `${apiPrefix}/device-assignments`;
const clientIdParam = { clientId: clientIdSchema };
const platformWide = 'Platform-wide: a token bound to an account gets 403.';

/**
 * Device assignments (issue 18; docs/PROTOCOL.md §19): an operator moves one device with a factory
 * certificate to another enrollment group, or discovery sends it to another platform instance's
 * provision broker. The move takes effect when the device next provisions with its factory
 * certificate (a factory reset). Platform-wide, as manufacturer CAs are: a group may be of any account.
 */
export function deviceAssignmentRoutes(deps: RouteDeps): ApiRoute[] {
  const { store } = deps;

  async function existingAssignment(principal: Principal, clientId: string): Promise<DeviceAssignment> {
    requireAdmin(principal);
    const assignment = await store.getDeviceAssignment(clientId);
    if (!assignment) throw new PlatformError('NOT_FOUND', { detail: 'no assignment for this clientId' });
    return assignment;
  }

  const audit = (type: string, principal: Principal, assignment: DeviceAssignment, accountId: string | null) =>
    deps.audit({
      type,
      actor: principal.actor,
      accountId,
      clientId: assignment.clientId,
      provisionRequestId: null,
      detail: { enrollmentGroupId: assignment.enrollmentGroupId, provisionBrokerUrl: assignment.provisionBrokerUrl },
    });

  /** The account of the assigned group, for the audit event (null: none, or the group is gone). */
  async function accountOf(assignment: DeviceAssignment): Promise<string | null> {
    if (assignment.enrollmentGroupId === null) return null;
    return (await store.getEnrollmentGroup(assignment.enrollmentGroupId))?.accountId ?? null;
  }

  return [
    defineRoute({
      method: 'get',
      path: base,
      operationId: 'listDeviceAssignments',
      summary: 'List device assignments, oldest change first',
      description: platformWide,
      tag,
      auth: 'bearer',
      query: 'DeviceAssignmentListQuery',
      responses: { 200: { description: 'A page of device assignments.', schema: 'DeviceAssignmentPage' } },
      handler: async ({ principal, query }) => {
        requireAdmin(principal);
        return { status: 200, body: pageView(await store.listDeviceAssignments(query), deviceAssignmentView) };
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/{clientId}`,
      operationId: 'getDeviceAssignment',
      summary: 'Get the assignment of a device (by its factory certificate CN)',
      description: platformWide,
      tag,
      auth: 'bearer',
      params: clientIdParam,
      responses: { 200: { description: 'The assignment.', schema: 'DeviceAssignment' } },
      handler: async ({ principal, params }) => ({ status: 200, body: deviceAssignmentView(await existingAssignment(principal, params['clientId']!)) }),
    }),
    defineRoute({
      method: 'put',
      path: `${base}/{clientId}`,
      operationId: 'putDeviceAssignment',
      summary: 'Assign a device to another enrollment group or provision broker; replaces its assignment',
      description:
        'The group must exist; it must still admit the device when it provisions (its manufacturer CA, lists and window), and the device provisions ' +
        'there as a first provisioning. The move takes effect when the device next provisions with its factory certificate (after a factory reset). ' +
        `${platformWide}`,
      tag,
      auth: 'bearer',
      scope: 'admin',
      params: clientIdParam,
      body: { kind: 'json', schema: 'DeviceAssignmentInput' },
      responses: { 200: { description: 'The assignment now.', schema: 'DeviceAssignment' } },
      handler: async ({ principal, params, body }) => {
        requireAdmin(principal);
        if (body.enrollmentGroupId === null && body.provisionBrokerUrl === null) {
          throw invalid('body', 'names neither an enrollmentGroupId nor a provisionBrokerUrl: DELETE the assignment instead');
        }
        const group = body.enrollmentGroupId === null ? null : await store.getEnrollmentGroup(body.enrollmentGroupId);
        if (body.enrollmentGroupId !== null && !group) throw invalid('body/enrollmentGroupId', 'names no enrollment group');
        const assignment = await store.putDeviceAssignment({
          clientId: params['clientId']!,
          enrollmentGroupId: body.enrollmentGroupId,
          provisionBrokerUrl: body.provisionBrokerUrl,
          modifiedBy: principal.actor,
        });
        await audit('device-assignment.changed', principal, assignment, group?.accountId ?? null);
        return { status: 200, body: deviceAssignmentView(assignment) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: `${base}/{clientId}`,
      operationId: 'deleteDeviceAssignment',
      summary: 'Remove the assignment of a device: it provisions into the group its certificate matches, on this platform',
      description: platformWide,
      tag,
      auth: 'bearer',
      scope: 'admin',
      params: clientIdParam,
      responses: { 204: { description: 'Removed.' } },
      handler: async ({ principal, params }) => {
        const assignment = await existingAssignment(principal, params['clientId']!);
        await store.deleteDeviceAssignment(assignment.clientId);
        await audit('device-assignment.deleted', principal, assignment, await accountOf(assignment));
        return { status: 204 };
      },
    }),
  ];
}
