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
      summary: 'Who this token is: the admin, a global token or a token of one account, and its scope',
      tag: 'api-tokens',
      auth: 'bearer',
      responses: {
        200: {
          description: 'The principal of the token.',
          content: {
            'application/json': {
              type: 'object',
              required: ['kind', 'accountId', 'scope', 'tokenId'],
              properties: {
                kind: {
                  type: 'string',
                  enum: ['admin', 'account'],
                  description: 'admin: reaches every account (the admin token or a global token); account: bound to accountId.',
                },
                accountId: { type: ['string', 'null'] },
                scope: { type: 'string', enum: ['read', 'operator', 'admin'], description: 'What the token may do (x-required-scope of each operation).' },
                tokenId: { type: ['string', 'null'], description: 'The API token id; null for the admin token.' },
              },
            },
          },
        },
      },
      handler: async ({ principal }) => ({
        status: 200,
        body: {
          kind: principal.kind,
          accountId: principal.kind === 'account' ? principal.accountId : null,
          scope: principal.scope,
          tokenId: principal.tokenId,
        },
      }),
    }),
  ];
}
