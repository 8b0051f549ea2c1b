import { PlatformError } from '../../errors/platform-error.ts';
import { requireAdmin } from '../access.ts';
import { viewCsvLayout } from '../csv-cells.ts';
import { invalid } from '../problem.ts';
import { ReferenceChecker } from '../reference-checker.ts';
import type { RouteDeps } from '../route-deps.ts';
import { apiPrefix, defineRoute, type ApiRoute } from '../route-spec.ts';
import { idSchema } from '../schemas/common.ts';
import { accountView } from '../views.ts';
import { listAndGetRoutes } from './list-and-get.ts';

const tag = 'accounts';
const idParam = { id: idSchema };

/** The port of an mqtt(s):// URL must be a real port; the schema pattern only checks the digits. */
function checkBrokerUrl(brokerUrl: string | null | undefined): void {
  if (brokerUrl === null || brokerUrl === undefined) return;
  try {
    new URL(brokerUrl);
  } catch {
    throw invalid('body/brokerUrl', 'is not a valid URL');
  }
}

export function accountRoutes(deps: RouteDeps): ApiRoute[] {
  const { store } = deps;
  const audit = (type: string, actor: string, accountId: string, detail: Record<string, unknown>) =>
    deps.audit({ type, actor, accountId, clientId: null, provisionRequestId: null, detail });
  const checkDefaultBundles = (accountId: string, bundleIds: readonly string[]) =>
    new ReferenceChecker(store).check('body', { accountId, accountMustExist: false, bundleIds, bundleField: 'defaultBundleIds' });

  return [
    defineRoute({
      method: 'post',
      path: `${apiPrefix}/accounts`,
      operationId: 'createAccount',
      scope: 'admin',
      summary: 'Create an account (admin)',
      tag,
      auth: 'bearer',
      body: { kind: 'json', schema: 'NewAccount' },
      responses: { 201: { description: 'Created.', schema: 'Account' } },
      problems: [409],
      handler: async ({ principal, body }) => {
        requireAdmin(principal);
        checkBrokerUrl(body.brokerUrl);
        // A new account owns no bundles yet, so only an empty list can pass.
        await checkDefaultBundles('', body.defaultBundleIds);
        const account = await store.createAccount(body);
        await audit('account.created', principal.actor, account.id, { name: account.name });
        return { status: 201, body: accountView(account) };
      },
    }),
    ...listAndGetRoutes({
      base: `${apiPrefix}/accounts`,
      tag,
      noun: 'account',
      view: accountView,
      list: {
        operationId: 'listAccounts',
        summary: 'List accounts (admin); a page as JSON, or all of them as CSV',
        query: 'AccountListQuery',
        response: { description: 'A page of accounts.', schema: 'AccountPage' },
        csv: { filename: 'accounts.csv', noun: 'accounts', ...viewCsvLayout('Account', accountView) },
        load: async (principal, { offset, limit }) => {
          requireAdmin(principal);
          return store.listAccounts({ offset, limit });
        },
      },
      get: {
        operationId: 'getAccount',
        summary: 'Get an account (admin, or a token of that account)',
        response: { description: 'The account.', schema: 'Account' },
        load: async (id) => {
          const account = await store.getAccount(id);
          return account && { ...account, accountId: account.id };
        },
      },
    }),
    defineRoute({
      method: 'patch',
      path: `${apiPrefix}/accounts/{id}`,
      operationId: 'updateAccount',
      scope: 'admin',
      summary: 'Change an account (admin); send the version you read',
      tag,
      auth: 'bearer',
      params: idParam,
      body: { kind: 'json', schema: 'AccountPatch' },
      responses: { 200: { description: 'The changed account.', schema: 'Account' } },
      problems: [409],
      handler: async ({ principal, params, body }) => {
        requireAdmin(principal);
        const id = params['id']!;
        const { version, ...patch } = body;
        checkBrokerUrl(patch.brokerUrl);
        if (!(await store.getAccount(id))) throw new PlatformError('NOT_FOUND', { detail: 'no such account' });
        if (patch.defaultBundleIds) await checkDefaultBundles(id, patch.defaultBundleIds);
        const account = await store.updateAccount(id, version, patch);
        await audit('account.updated', principal.actor, id, { fields: Object.keys(patch).sort() });
        return { status: 200, body: accountView(account) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: `${apiPrefix}/accounts/{id}`,
      operationId: 'deleteAccount',
      scope: 'admin',
      summary: "Delete an account (admin); refused while provision requests refer to it; ends its devices' live sessions",
      tag,
      auth: 'bearer',
      params: idParam,
      responses: { 204: { description: 'Deleted.' } },
      problems: [409],
      handler: async ({ principal, params }) => {
        requireAdmin(principal);
        const id = params['id']!;
        const account = await store.getAccount(id);
        if (!account) throw new PlatformError('NOT_FOUND', { detail: 'no such account' });
        await store.deleteAccount(id);
        await deps.sessions.endSessions({ kind: 'account', accountId: id, cause: 'deleted' });
        await audit('account.deleted', principal.actor, id, { name: account.name });
        return { status: 204 };
      },
    }),
  ];
}
