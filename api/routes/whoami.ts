import type { RouteDeps } from '../route-deps.ts';
import { apiPrefix, defineRoute, type ApiRoute } from '../route-spec.ts';

/**
 * Who the token is: the admin, or a token of one account (its id). A client that is given only a
 * token, such as the web console, learns from it which account it works in and which actions
 * its token may take, so it shows no button that would answer 403.
 */
export function whoamiRoutes(_deps: RouteDeps): ApiRoute[] {
  return [
    defineRoute({
      method: 'get',
      path: `${apiPrefix}/whoami`,
      operationId: 'getCurrentPrincipal',
      summary: 'Who this token is: the admin, or a token of one account',
      tag: 'api-tokens',
      auth: 'bearer',
      responses: {
        200: {
          description: 'The principal of the token.',
          content: {
            'application/json': {
              type: 'object',
              required: ['kind', 'accountId'],
              properties: { kind: { type: 'string', enum: ['admin', 'account'] }, accountId: { type: ['string', 'null'] } },
            },
          },
        },
      },
      handler: async ({ principal }) => ({
        status: 200,
        body: { kind: principal.kind, accountId: principal.kind === 'account' ? principal.accountId : null },
      }),
    }),
  ];
}
