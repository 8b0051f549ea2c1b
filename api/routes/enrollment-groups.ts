import type { EnrollmentGroup, EnrollmentGroupPatch, NewEnrollmentGroup } from '../../store/types.ts';
import { listScope, requireWriteAccess, visibleOrNotFound } from '../access.ts';
import type { Principal } from '../auth.ts';
import { viewCsvLayout } from '../csv-cells.ts';
import { enrollmentGroupView } from '../enrollment-views.ts';
import { normalizeFactorySerial } from '../manufacturer-ca-certificate.ts';
import { ApiValidationError, invalid, type FieldError } from '../problem.ts';
import { ReferenceChecker } from '../reference-checker.ts';
import type { RouteDeps } from '../route-deps.ts';
import { apiPrefix, defineRoute, type ApiRoute } from '../route-spec.ts';
import { idSchema } from '../schemas/common.ts';
import type { Validated } from '../schemas/index.ts';
import { listAndGetRoutes } from './list-and-get.ts';

const tag = 'enrollment-groups';
const base = `${apiPrefix}/enrollment-groups`;
const idParam = { id: idSchema };

type GroupFields = Omit<Validated<'EnrollmentGroupPatch'>, 'version'>;

const sortedUnique = (values: readonly string[]): string[] => [...new Set(values)].sort();
const epochMsOrNull = (value: string | null): number | null => (value === null ? null : Date.parse(value));

/** The changed fields as the store keeps them: lists sorted without repeats, serials normalized, times in epoch ms. */
function storedFields(fields: GroupFields): EnrollmentGroupPatch {
  const { tags, allowSerials, allowClientIds, denySerials, denyClientIds, validFrom, validUntil, ...rest } = fields;
  return {
    ...rest,
    ...(tags !== undefined ? { tags: sortedUnique(tags) } : {}),
    ...(allowSerials !== undefined ? { allowSerials: sortedUnique(allowSerials.map(normalizeFactorySerial)) } : {}),
    ...(denySerials !== undefined ? { denySerials: sortedUnique(denySerials.map(normalizeFactorySerial)) } : {}),
    ...(allowClientIds !== undefined ? { allowClientIds: sortedUnique(allowClientIds) } : {}),
    ...(denyClientIds !== undefined ? { denyClientIds: sortedUnique(denyClientIds) } : {}),
    ...(validFrom !== undefined ? { validFrom: epochMsOrNull(validFrom) } : {}),
    ...(validUntil !== undefined ? { validUntil: epochMsOrNull(validUntil) } : {}),
  };
}

function newGroup(body: Validated<'NewEnrollmentGroup'>): NewEnrollmentGroup {
  return {
    ...body,
    tags: sortedUnique(body.tags),
    allowSerials: sortedUnique(body.allowSerials.map(normalizeFactorySerial)),
    denySerials: sortedUnique(body.denySerials.map(normalizeFactorySerial)),
    allowClientIds: sortedUnique(body.allowClientIds),
    denyClientIds: sortedUnique(body.denyClientIds),
    validFrom: epochMsOrNull(body.validFrom),
    validUntil: epochMsOrNull(body.validUntil),
  };
}

function checkWindow(validFrom: number | null, validUntil: number | null): void {
  if (validFrom !== null && validUntil !== null && validUntil <= validFrom) throw invalid('body/validUntil', 'must be after validFrom');
}

/**
 * Enrollment groups (issue 18; docs/PROTOCOL.md §17): a device with a factory certificate of the
 * group's manufacturer CA, admitted by its lists and time window, provisions into the group's
 * account with a provision request made on the fly from the group's category, configuration,
 * bundles and tags. They belong to an account: an account token sees and changes only its own.
 */
export function enrollmentGroupRoutes(deps: RouteDeps): ApiRoute[] {
  const { store } = deps;

  async function visibleGroup(principal: Principal, id: string): Promise<EnrollmentGroup> {
    return visibleOrNotFound(principal, await store.getEnrollmentGroup(id), 'enrollment group');
  }

  /** The records the group names exist, in its account: every bad one named at once. */
  async function checkReferences(
    group: Pick<NewEnrollmentGroup, 'accountId'> & EnrollmentGroupPatch & { manufacturerCaId?: string },
    isNew: boolean,
  ): Promise<void> {
    const errors: FieldError[] = [];
    try {
      await new ReferenceChecker(store).check('body', { ...group, accountMustExist: isNew });
    } catch (error) {
      if (!(error instanceof ApiValidationError)) throw error;
      errors.push(...error.errors);
    }
    if (group.manufacturerCaId !== undefined && !(await store.getManufacturerCa(group.manufacturerCaId))) {
      errors.push({ path: 'body/manufacturerCaId', message: 'names no manufacturer CA' });
    }
    if (errors.length > 0) throw new ApiValidationError(errors);
  }

  const audit = (type: string, principal: Principal, group: EnrollmentGroup, detail: Record<string, unknown> = {}) =>
    deps.audit({
      type,
      actor: principal.actor,
      accountId: group.accountId,
      clientId: null,
      provisionRequestId: null,
      detail: { enrollmentGroupId: group.id, name: group.name, manufacturerCaId: group.manufacturerCaId, ...detail },
    });

  return [
    defineRoute({
      method: 'post',
      path: base,
      operationId: 'createEnrollmentGroup',
      summary: 'Create an enrollment group: devices with a factory certificate of its manufacturer CA provision into its account on their own',
      description:
        'The category, configuration and bundles must be of the same account, the manufacturer CA registered (400 naming each bad field). ' +
        'The name is unique in the account (409 DUPLICATE).',
      tag,
      auth: 'bearer',
      body: { kind: 'json', schema: 'NewEnrollmentGroup' },
      responses: { 201: { description: 'Created.', schema: 'EnrollmentGroup' } },
      problems: [409],
      handler: async ({ principal, body }) => {
        requireWriteAccess(principal, body.accountId);
        const input = newGroup(body);
        checkWindow(input.validFrom, input.validUntil);
        await checkReferences(input, true);
        const group = await store.createEnrollmentGroup(input);
        await audit('enrollment-group.created', principal, group);
        return { status: 201, body: enrollmentGroupView(group) };
      },
    }),
    ...listAndGetRoutes({
      base,
      tag,
      noun: 'enrollment group',
      view: enrollmentGroupView,
      list: {
        operationId: 'listEnrollmentGroups',
        summary: 'List enrollment groups, oldest first; a page as JSON, or all of them as CSV',
        query: 'EnrollmentGroupListQuery',
        response: { description: 'A page of enrollment groups.', schema: 'EnrollmentGroupPage' },
        csv: { filename: 'enrollment-groups.csv', noun: 'enrollment groups', ...viewCsvLayout('EnrollmentGroup', enrollmentGroupView) },
        load: async (principal, { accountId, manufacturerCaId, offset, limit }) => {
          const account = listScope(principal, accountId);
          return store.listEnrollmentGroups({
            ...(account !== undefined ? { accountId: account } : {}),
            ...(manufacturerCaId ? { manufacturerCaId } : {}),
            offset,
            limit,
          });
        },
      },
      get: {
        operationId: 'getEnrollmentGroup',
        summary: 'Get an enrollment group',
        response: { description: 'The enrollment group.', schema: 'EnrollmentGroup' },
        load: (id) => store.getEnrollmentGroup(id),
      },
    }),
    defineRoute({
      method: 'patch',
      path: `${base}/{id}`,
      operationId: 'updateEnrollmentGroup',
      summary: 'Change an enrollment group; send the version you read',
      description:
        'The changes apply to devices that provision from now on; requests already made keep what they were made with. Disabled, the group ' +
        'admits no device and the live provision-broker sessions of the devices it admitted end. Its account and manufacturer CA never change.',
      tag,
      auth: 'bearer',
      params: idParam,
      body: { kind: 'json', schema: 'EnrollmentGroupPatch' },
      responses: { 200: { description: 'The changed enrollment group.', schema: 'EnrollmentGroup' } },
      problems: [409],
      handler: async ({ principal, params, body }) => {
        const current = await visibleGroup(principal, params['id']!);
        const { version, ...fields } = body;
        const patch = storedFields(fields);
        checkWindow(
          patch.validFrom !== undefined ? patch.validFrom : current.validFrom,
          patch.validUntil !== undefined ? patch.validUntil : current.validUntil,
        );
        await checkReferences({ ...patch, accountId: current.accountId }, false);
        const updated = await store.updateEnrollmentGroup(current.id, version, patch);
        if (current.enabled && !updated.enabled)
          await deps.sessions.endSessions({ kind: 'enrollment-group', enrollmentGroupId: updated.id, cause: 'disabled' });
        await audit('enrollment-group.updated', principal, updated, { fields: Object.keys(fields).sort(), enabled: updated.enabled });
        return { status: 200, body: enrollmentGroupView(updated) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: `${base}/{id}`,
      operationId: 'deleteEnrollmentGroup',
      summary: 'Delete an enrollment group; the live provision-broker sessions of the devices it admitted end',
      description: 'The requests it made and the devices it provisioned stay; a device assigned to it (device assignments) is refused until moved.',
      tag,
      auth: 'bearer',
      params: idParam,
      responses: { 204: { description: 'Deleted.' } },
      handler: async ({ principal, params }) => {
        const group = await visibleGroup(principal, params['id']!);
        await store.deleteEnrollmentGroup(group.id);
        await deps.sessions.endSessions({ kind: 'enrollment-group', enrollmentGroupId: group.id, cause: 'deleted' });
        await audit('enrollment-group.deleted', principal, group);
        return { status: 204 };
      },
    }),
  ];
}
