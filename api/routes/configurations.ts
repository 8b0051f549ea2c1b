import { requireWriteAccess, visibleOrNotFound } from '../access.ts';
import { ReferenceChecker } from '../reference-checker.ts';
import type { RouteDeps } from '../route-deps.ts';
import { apiPrefix, defineRoute, type ApiRoute } from '../route-spec.ts';
import { idSchema } from '../schemas/common.ts';
import { configurationView } from '../views.ts';
import { listAndGetRoutes } from './list-and-get.ts';
import { requiredListAccount } from './list-scope.ts';

const tag = 'configurations';
const base = `${apiPrefix}/configurations`;
const idParam = { id: idSchema };

export function configurationRoutes(deps: RouteDeps): ApiRoute[] {
  const { store } = deps;
  return [
    defineRoute({
      method: 'post',
      path: base,
      operationId: 'createConfiguration',
      summary: 'Create a configuration a provision request can attach',
      tag,
      auth: 'bearer',
      body: { kind: 'json', schema: 'NewConfiguration' },
      responses: { 201: { description: 'Created.', schema: 'Configuration' } },
      problems: [409],
      handler: async ({ principal, body: input }) => {
        requireWriteAccess(principal, input.accountId);
        await new ReferenceChecker(store).check('body', { accountId: input.accountId });
        const configuration = await store.createConfiguration(input);
        await deps.audit({
          type: 'configuration.created',
          actor: principal.actor,
          accountId: input.accountId,
          clientId: null,
          provisionRequestId: null,
          detail: { configurationId: configuration.id, name: configuration.name },
        });
        return { status: 201, body: configurationView(configuration) };
      },
    }),
    ...listAndGetRoutes({
      base,
      tag,
      noun: 'configuration',
      view: configurationView,
      list: {
        operationId: 'listConfigurations',
        summary: 'List the configurations of an account',
        query: 'ConfigurationListQuery',
        response: { description: 'A page of configurations.', schema: 'ConfigurationPage' },
        load: async (principal, { accountId, offset, limit }) => store.listConfigurations(requiredListAccount(principal, accountId), { offset, limit }),
      },
      get: {
        operationId: 'getConfiguration',
        summary: 'Get a configuration',
        response: { description: 'The configuration.', schema: 'Configuration' },
        load: (id) => store.getConfiguration(id),
      },
    }),
    defineRoute({
      method: 'delete',
      path: `${base}/{id}`,
      operationId: 'deleteConfiguration',
      summary: 'Delete a configuration',
      tag,
      auth: 'bearer',
      params: idParam,
      responses: { 204: { description: 'Deleted.' } },
      problems: [409],
      handler: async ({ principal, params }) => {
        const configuration = visibleOrNotFound(principal, await store.getConfiguration(params['id']!), 'configuration');
        await store.deleteConfiguration(configuration.id);
        await deps.audit({
          type: 'configuration.deleted',
          actor: principal.actor,
          accountId: configuration.accountId,
          clientId: null,
          provisionRequestId: null,
          detail: { configurationId: configuration.id, name: configuration.name },
        });
        return { status: 204 };
      },
    }),
  ];
}
