import { requireAdmin } from '../access.ts';
import { createAccountApiToken } from '../api-tokens.ts';
import { invalid } from '../problem.ts';
import type { RouteDeps } from '../route-deps.ts';
import { apiPrefix, defineRoute, type ApiRoute } from '../route-spec.ts';
import { iso } from '../views.ts';

export function apiTokenRoutes(deps: RouteDeps): ApiRoute[] {
  return [
    defineRoute({
      method: 'post',
      path: `${apiPrefix}/api-tokens`,
      operationId: 'createApiToken',
      summary: 'Create an API token limited to one account (admin); the token is shown once',
      tag: 'api-tokens',
      auth: 'bearer',
      body: { kind: 'json', schema: 'NewApiToken' },
      responses: { 201: { description: 'Created; keep the token, it is not shown again.', schema: 'CreatedApiToken' } },
      handler: async ({ principal, body }) => {
        requireAdmin(principal);
        if (!(await deps.store.getAccount(body.accountId))) throw invalid('body/accountId', 'names no existing account');
        const created = await createAccountApiToken(deps.store, body);
        await deps.audit({
          type: 'api-token.created',
          actor: principal.actor,
          accountId: body.accountId,
          clientId: null,
          provisionRequestId: null,
          detail: { tokenId: created.id, description: created.description },
        });
        return { status: 201, body: { ...created, createdOn: iso(created.createdOn) } };
      },
    }),
  ];
}
