import { PlatformError } from '../../errors/platform-error.ts';
import type { Category } from '../../store/types.ts';
import { requireWriteAccess, visibleOrNotFound } from '../access.ts';
import { viewCsvLayout } from '../csv-cells.ts';
import type { Principal } from '../auth.ts';
import { tellOnlineDevices } from '../online-device-notices.ts';
import { categoryView } from '../category-view.ts';
import { ReferenceChecker } from '../reference-checker.ts';
import type { RouteDeps } from '../route-deps.ts';
import { apiPrefix, defineRoute, type ApiRoute } from '../route-spec.ts';
import { idSchema } from '../schemas/common.ts';
import { listAndGetRoutes } from './list-and-get.ts';
import { requiredListAccount } from './list-scope.ts';

const tag = 'categories';
const base = `${apiPrefix}/categories`;
const idParam = { id: idSchema };

function sameBundles(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, index) => id === b[index]);
}

/**
 * Categories of devices per account (issue 15 §2). A provision request names one and the device
 * inherits it; the category's configuration and bundles apply to a request that names none, so
 * a fleet is described once. The name never changes (requests, devices and jobs name it), and a
 * category is deleted only once nothing names it.
 */
export function categoryRoutes(deps: RouteDeps): ApiRoute[] {
  const { store } = deps;

  async function visibleCategory(principal: Principal, id: string): Promise<Category> {
    return visibleOrNotFound(principal, await store.getCategory(id), 'category');
  }

  async function audit(type: string, actor: string, category: Category, detail: Record<string, unknown> = {}): Promise<void> {
    await deps.audit({
      type,
      actor,
      accountId: category.accountId,
      clientId: null,
      provisionRequestId: null,
      detail: { categoryId: category.id, name: category.name, ...detail },
    });
  }

  return [
    defineRoute({
      method: 'post',
      path: base,
      operationId: 'createCategory',
      summary: 'Create a category of devices in an account',
      description:
        'A provision request may then name it (`category`), and the device inherits it. Its configuration and bundles apply ' +
        'to a request that names none. The name is unique in the account (409 DUPLICATE) and never changes.',
      tag,
      auth: 'bearer',
      body: { kind: 'json', schema: 'NewCategory' },
      responses: { 201: { description: 'Created.', schema: 'Category' } },
      problems: [409],
      handler: async ({ principal, body: input }) => {
        requireWriteAccess(principal, input.accountId);
        await new ReferenceChecker(store).check('body', input);
        const category = await store.createCategory(input);
        await audit('category.created', principal.actor, category);
        return { status: 201, body: categoryView(category) };
      },
    }),
    ...listAndGetRoutes({
      base,
      tag,
      noun: 'category',
      view: categoryView,
      list: {
        operationId: 'listCategories',
        summary: 'List the categories of an account, by name; a page as JSON, or all of them as CSV',
        query: 'CategoryListQuery',
        response: { description: 'A page of categories.', schema: 'CategoryPage' },
        csv: { filename: 'categories.csv', noun: 'categories', ...viewCsvLayout('Category', categoryView) },
        load: async (principal, { accountId, offset, limit }) => store.listCategories(requiredListAccount(principal, accountId), { offset, limit }),
      },
      get: {
        operationId: 'getCategory',
        summary: 'Get a category',
        response: { description: 'The category.', schema: 'Category' },
        load: (id) => store.getCategory(id),
      },
    }),
    defineRoute({
      method: 'patch',
      path: `${base}/{id}`,
      operationId: 'updateCategory',
      summary: "Change a category's description, configuration or bundles; send the version you read",
      description:
        'When the configuration or the bundles change, the online devices of the category are told to catch up at once; ' +
        'the others catch up at their next birth.',
      tag,
      auth: 'bearer',
      params: idParam,
      body: { kind: 'json', schema: 'CategoryPatch' },
      responses: { 200: { description: 'The changed category.', schema: 'Category' } },
      problems: [409],
      handler: async ({ principal, params, body }) => {
        const current = await visibleCategory(principal, params['id']!);
        const { version, ...patch } = body;
        await new ReferenceChecker(store).check('body', { ...patch, accountId: current.accountId, accountMustExist: false });
        const updated = await store.updateCategory(current.id, version, patch);
        const devicesMustCatchUp = updated.configurationId !== current.configurationId || !sameBundles(updated.bundleIds, current.bundleIds);
        if (devicesMustCatchUp) await deps.expectedConfigurations.record(updated.accountId, { category: updated.name });
        const devicesTold = devicesMustCatchUp
          ? await tellOnlineDevices(store, deps.fleetUpdates, updated.accountId, { category: updated.name }, 'category')
          : 0;
        await audit('category.updated', principal.actor, updated, { fields: Object.keys(patch).sort(), devicesTold });
        return { status: 200, body: categoryView(updated) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: `${base}/{id}`,
      operationId: 'deleteCategory',
      summary: 'Delete a category no device, provision request, enrollment group or unused provisioning code names',
      description:
        'Refused with 409 DUPLICATE while a device, a provision request, an enrollment group or a PENDING provisioning code names it: move or delete those first.',
      tag,
      auth: 'bearer',
      params: idParam,
      responses: { 204: { description: 'Deleted.' } },
      problems: [409],
      handler: async ({ principal, params }) => {
        const category = await visibleCategory(principal, params['id']!);
        const scope = { accountId: category.accountId, category: category.name, limit: 0 };
        const [devices, requests, groups, codes] = await Promise.all([
          store.listDevices(scope),
          store.listProvisionRequests(scope),
          store.listEnrollmentGroups(scope),
          store.listProvisioningCodes({ ...scope, status: 'PENDING' }),
        ]);
        if (devices.total > 0 || requests.total > 0) {
          throw new PlatformError('DUPLICATE', {
            detail: `the category is in use: ${devices.total} device(s) and ${requests.total} provision request(s) name it`,
          });
        }
        if (groups.total > 0 || codes.total > 0) {
          throw new PlatformError('DUPLICATE', {
            detail: `the category is in use: ${groups.total} enrollment group(s) and ${codes.total} unused provisioning code(s) name it`,
          });
        }
        await store.deleteCategory(category.id);
        await audit('category.deleted', principal.actor, category);
        return { status: 204 };
      },
    }),
  ];
}
