import { requireWriteAccess, visibleOrNotFound } from '../access.ts';
import { viewCsvLayout } from '../csv-cells.ts';
import { ReferenceChecker } from '../reference-checker.ts';
import type { RouteDeps } from '../route-deps.ts';
import { apiPrefix, defineRoute, type ApiRoute } from '../route-spec.ts';
import { idSchema } from '../schemas/common.ts';
import { tellOnlineDevices } from '../online-device-notices.ts';
import { configurationVersionView, configurationView, pageView } from '../views.ts';
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
        summary: 'List the configurations of an account; a page as JSON, or all of them as CSV (without their content)',
        query: 'ConfigurationListQuery',
        response: { description: 'A page of configurations.', schema: 'ConfigurationPage' },
        // The content is a JSON document of its own: GET /configurations/{id} has it.
        csv: { filename: 'configurations.csv', noun: 'configurations', ...viewCsvLayout('Configuration', configurationView, ['content']) },
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
      method: 'patch',
      path: `${base}/{id}`,
      operationId: 'editConfiguration',
      summary: 'Edit a configuration: its content becomes the next version',
      description:
        'The old versions are kept (GET …/versions). The online devices that hold this configuration (through their request, their category or an update job) are sent it at once on the account broker (CONF-V1); the others get it at their next birth.',
      tag,
      auth: 'bearer',
      params: idParam,
      body: { kind: 'json', schema: 'ConfigurationEdit' },
      responses: { 200: { description: 'The configuration at its new version.', schema: 'Configuration' } },
      problems: [409],
      handler: async ({ principal, params, body }) => {
        const current = visibleOrNotFound(principal, await store.getConfiguration(params['id']!), 'configuration');
        requireWriteAccess(principal, current.accountId);
        const edited = await store.updateConfigurationContent(current.id, body.version, body.content, principal.actor);
        // Every online device of the account is named: the broker side sends only to those whose held configuration changed.
        await deps.expectedConfigurations.record(edited.accountId, {});
        const devicesTold = await tellOnlineDevices(store, deps.fleetUpdates, edited.accountId, {}, 'configuration');
        await deps.audit({
          type: 'configuration.edited',
          actor: principal.actor,
          accountId: edited.accountId,
          clientId: null,
          provisionRequestId: null,
          detail: { configurationId: edited.id, name: edited.name, version: edited.version, devicesTold },
        });
        return { status: 200, body: configurationView(edited) };
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/{id}/versions`,
      operationId: 'listConfigurationVersions',
      summary: 'List the versions of a configuration, the newest first',
      tag,
      auth: 'bearer',
      params: idParam,
      query: 'ConfigurationVersionListQuery',
      responses: { 200: { description: 'A page of versions.', schema: 'ConfigurationVersionPage' } },
      handler: async ({ principal, params, query }) => {
        const configuration = visibleOrNotFound(principal, await store.getConfiguration(params['id']!), 'configuration');
        const page = await store.listConfigurationVersions(configuration.id, { offset: query.offset, limit: query.limit });
        return { status: 200, body: pageView(page, configurationVersionView) };
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
