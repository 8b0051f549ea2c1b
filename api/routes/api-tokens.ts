import { PlatformError } from '../../errors/platform-error.ts';
import { canSeeAccount } from '../access.ts';
import { createApiToken, isApiTokenUsable, listApiTokens, readApiToken, revokeApiToken, type StoredApiToken } from '../api-tokens.ts';
import type { Principal } from '../auth.ts';
import { invalid } from '../problem.ts';
import type { RouteDeps } from '../route-deps.ts';
import { apiPrefix, defineRoute, type ApiRoute } from '../route-spec.ts';
import { idSchema } from '../schemas/common.ts';
import { scopeCovers } from '../token-scopes.ts';
import { iso } from '../views.ts';

const tag = 'api-tokens';
const idParam = { id: idSchema };

const isoOrNull = (epochMs: number | null) => (epochMs === null ? null : iso(epochMs));

/** A token as the API shows it: everything but its hash (the secret is never stored). */
function apiTokenView({ id, record }: StoredApiToken, now = Date.now()) {
  return {
    id,
    accountId: record.accountId,
    scope: record.scope,
    description: record.description,
    createdOn: iso(record.createdOn),
    createdBy: record.createdBy,
    expiresOn: isoOrNull(record.expiresOn),
    lastUsedOn: isoOrNull(record.lastUsedOn),
    revokedOn: isoOrNull(record.revokedOn),
    state: record.revokedOn !== null ? 'revoked' : isApiTokenUsable(record, now) ? 'active' : 'expired',
  };
}

/** Whether the principal may see a token: a global one sees all, an account-bound one those of its account. */
function mayManage(principal: Principal, token: StoredApiToken): boolean {
  return token.record.accountId === null ? principal.kind === 'admin' : canSeeAccount(principal, token.record.accountId);
}

/**
 * API tokens: created (shown once), listed, read and revoked. Every route needs admin scope
 * (api/token-scopes.ts); a token bound to an account manages only its account's tokens and can
 * create none of a higher scope than its own, nor a global one.
 */
export function apiTokenRoutes(deps: RouteDeps): ApiRoute[] {
  const { store } = deps;
  async function visibleToken(principal: Principal, id: string): Promise<StoredApiToken> {
    const token = await readApiToken(store, id);
    if (!token || !mayManage(principal, token)) throw new PlatformError('NOT_FOUND', { detail: 'no such API token' });
    return token;
  }

  return [
    defineRoute({
      method: 'post',
      path: `${apiPrefix}/api-tokens`,
      operationId: 'createApiToken',
      summary: 'Create an API token, global or bound to one account, of a scope no higher than the caller’s; the token is shown once',
      tag,
      auth: 'bearer',
      scope: 'admin',
      body: { kind: 'json', schema: 'NewApiToken' },
      responses: { 201: { description: 'Created; keep the token, it is not shown again.', schema: 'CreatedApiToken' } },
      handler: async ({ principal, body }) => {
        const accountId = body.accountId ?? null;
        if (principal.kind === 'account' && accountId !== principal.accountId) {
          throw new PlatformError('FORBIDDEN', { detail: 'this token may only create tokens of its own account' });
        }
        if (!scopeCovers(principal.scope, body.scope)) {
          throw new PlatformError('FORBIDDEN', { detail: `this token's scope is ${principal.scope}; it cannot create a token of scope ${body.scope}` });
        }
        if (accountId !== null && !(await store.getAccount(accountId))) throw invalid('body/accountId', 'names no existing account');
        const now = Date.now();
        const expiresOn = body.expiresOn === undefined ? null : Date.parse(body.expiresOn);
        if (expiresOn !== null && expiresOn <= now) throw invalid('body/expiresOn', 'must be in the future');
        const { token, stored } = await createApiToken(
          store,
          { accountId, scope: body.scope, description: body.description, expiresOn, createdBy: principal.actor },
          now,
        );
        await deps.audit({
          type: 'api-token.created',
          actor: principal.actor,
          accountId,
          clientId: null,
          provisionRequestId: null,
          detail: { tokenId: stored.id, scope: body.scope, description: body.description, expiresOn: isoOrNull(expiresOn) },
        });
        return { status: 201, body: { ...apiTokenView(stored, now), token } };
      },
    }),
    defineRoute({
      method: 'get',
      path: `${apiPrefix}/api-tokens`,
      operationId: 'listApiTokens',
      summary: 'List API tokens (of the caller’s account, or all for a global token), revoked and expired ones included; never a secret',
      tag,
      auth: 'bearer',
      scope: 'admin',
      responses: { 200: { description: 'The tokens, in id order.', schema: 'ApiTokenList' } },
      handler: async ({ principal }) => {
        const now = Date.now();
        const items = (await listApiTokens(store)).filter((token) => mayManage(principal, token)).map((token) => apiTokenView(token, now));
        return { status: 200, body: { items } };
      },
    }),
    defineRoute({
      method: 'get',
      path: `${apiPrefix}/api-tokens/{id}`,
      operationId: 'getApiToken',
      summary: 'One API token: scope, expiry, last use, revocation; never its secret',
      tag,
      auth: 'bearer',
      scope: 'admin',
      params: idParam,
      responses: { 200: { description: 'The token.', schema: 'ApiToken' } },
      handler: async ({ principal, params }) => ({ status: 200, body: apiTokenView(await visibleToken(principal, params['id']!)) }),
    }),
    defineRoute({
      method: 'post',
      path: `${apiPrefix}/api-tokens/{id}/revoke`,
      operationId: 'revokeApiToken',
      summary: 'Revoke an API token: every process of the platform refuses it (401) from the next request on; revoking again changes nothing',
      tag,
      auth: 'bearer',
      scope: 'admin',
      params: idParam,
      responses: { 200: { description: 'The revoked token.', schema: 'ApiToken' } },
      handler: async ({ principal, params }) => {
        const before = await visibleToken(principal, params['id']!);
        const revoked = await revokeApiToken(store, before.id);
        if (!revoked) throw new PlatformError('NOT_FOUND', { detail: 'no such API token' });
        if (before.record.revokedOn === null) {
          await deps.audit({
            type: 'api-token.revoked',
            actor: principal.actor,
            accountId: revoked.record.accountId,
            clientId: null,
            provisionRequestId: null,
            detail: { tokenId: revoked.id, scope: revoked.record.scope, description: revoked.record.description },
          });
        }
        return { status: 200, body: apiTokenView(revoked) };
      },
    }),
  ];
}
