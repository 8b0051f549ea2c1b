import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { startApiFixture, type ApiFixture } from './support/api-fixture.ts';

/**
 * Token scopes (issue 17 §3), checked over the served OpenAPI document rather than a list of
 * routes: a read-only token gets 403 on every operation that is not a GET, an operator token on
 * every one that needs admin, whatever the path parameters or body (the scope is checked before
 * either is read, api/register-routes.ts). Then the life of a token: expiry and revocation answer
 * 401, its last use is recorded, listing shows no secret, and the audit log names the token.
 */
interface Operation {
  readonly method: string;
  readonly path: string;
  readonly operationId: string;
  readonly scope: string | undefined;
  readonly open: boolean;
}

describe('Admin API token scopes', () => {
  let fixture: ApiFixture;
  let operations: Operation[];
  let accountId: string;
  const tokens: Record<string, string> = {};

  const newToken = async (body: Record<string, unknown>, token?: string) => {
    const answer = await fixture.api('POST', '/api/v1/api-tokens', { body, ...(token === undefined ? {} : { token }) });
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
    return answer.body as { id: string; token: string };
  };

  before(async () => {
    fixture = await startApiFixture();
    accountId = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'acme' } })).body.id;
    for (const scope of ['read', 'operator', 'admin'] as const) {
      tokens[`global-${scope}`] = (await newToken({ scope, description: `global ${scope}` })).token;
      tokens[`account-${scope}`] = (await newToken({ accountId, scope, description: `acme ${scope}` })).token;
    }
    const document = (await fixture.api('GET', '/api/v1/openapi.json', { token: null })).body as {
      paths: Record<string, Record<string, { operationId: string; 'x-required-scope'?: string; security?: unknown[] }>>;
    };
    operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({
        method: method.toUpperCase(),
        path,
        operationId: operation.operationId,
        scope: operation['x-required-scope'],
        open: Array.isArray(operation.security) && operation.security.length === 0,
      })),
    );
  });
  after(() => fixture?.close());

  /** The path with every parameter filled in; the scope check comes before the parameters are read. */
  const concrete = (path: string) => path.replace(/\{[^}]+\}/g, 'scope-check-0123456789');

  it('Should document the scope of every operation that needs a token: GET read or admin, any other method operator or admin', () => {
    assert.ok(operations.length > 40, `the document lists ${operations.length} operations`);
    for (const operation of operations) {
      if (operation.open) {
        assert.equal(operation.scope, undefined, operation.operationId);
        continue;
      }
      const allowed = operation.method === 'GET' ? ['read', 'admin'] : ['operator', 'admin'];
      assert.ok(allowed.includes(operation.scope ?? ''), `${operation.operationId}: ${operation.scope}`);
    }
    const admin = operations.filter((operation) => operation.scope === 'admin').map((operation) => operation.operationId);
    for (const operationId of ['createAccount', 'updateAccount', 'deleteAccount', 'createApiToken', 'listApiTokens', 'getApiToken', 'revokeApiToken']) {
      assert.ok(admin.includes(operationId), `${operationId} needs admin`);
    }
  });

  it('Should answer 403 to a read-only token (global or of an account) on every operation of the document that is not a GET', async () => {
    const writes = operations.filter((operation) => operation.method !== 'GET' && !operation.open);
    assert.ok(writes.length > 20);
    for (const operation of writes) {
      for (const token of [tokens['global-read']!, tokens['account-read']!]) {
        const answer = await fixture.api(operation.method, concrete(operation.path), { token, body: {} });
        assert.equal(answer.status, 403, `${operation.method} ${operation.path}: ${JSON.stringify(answer.body)}`);
        assert.match(answer.body.detail, /needs a token of scope (operator|admin)/);
      }
    }
  });

  it('Should answer 403 to an operator token on every operation of the document that needs admin', async () => {
    const adminOnly = operations.filter((operation) => operation.scope === 'admin');
    for (const operation of adminOnly) {
      for (const token of [tokens['global-operator']!, tokens['account-operator']!]) {
        const answer = await fixture.api(operation.method, concrete(operation.path), { token, ...(operation.method === 'GET' ? {} : { body: {} }) });
        assert.equal(answer.status, 403, `${operation.method} ${operation.path}`);
      }
    }
  });

  it('Should let a read-only token read, and change nothing when it tries to write a valid record', async () => {
    const token = tokens['account-read']!;
    assert.equal((await fixture.api('GET', '/api/v1/provision-requests', { token })).status, 200);
    assert.equal((await fixture.api('GET', `/api/v1/accounts/${accountId}`, { token })).status, 200);
    const refused = await fixture.api('POST', '/api/v1/provision-requests', { token, body: { accountId, clientId: 'read-only-attempt' } });
    assert.equal(refused.status, 403);
    assert.equal(await fixture.store.findEnabledProvisionRequest('read-only-attempt'), null);
    const whoami = await fixture.api('GET', '/api/v1/whoami', { token });
    assert.deepEqual({ ...whoami.body, tokenId: undefined }, { kind: 'account', accountId, scope: 'read', tokenId: undefined });
  });

  it('Should let an operator token change the fleet of its account, and the audit log name the token', async () => {
    const token = tokens['account-operator']!;
    const created = await fixture.api('POST', '/api/v1/provision-requests', { token, body: { accountId, clientId: 'by-operator' } });
    assert.equal(created.status, 201);
    const events = await fixture.api('GET', `/api/v1/audit-events?accountId=${accountId}&provisionRequestId=${created.body.id}`);
    assert.ok(events.body.items.length > 0);
    for (const event of events.body.items) assert.equal(event.actor, token.split('.')[0]);
  });

  it('Should not let a token create one of a higher scope, or an account token a global one or one of another account', async () => {
    const accountAdmin = tokens['account-admin']!;
    const other = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'globex' } })).body.id;
    assert.equal((await fixture.api('POST', '/api/v1/api-tokens', { token: accountAdmin, body: { scope: 'read' } })).status, 403, 'global');
    assert.equal((await fixture.api('POST', '/api/v1/api-tokens', { token: accountAdmin, body: { accountId: other } })).status, 403, 'another account');
    const own = await newToken({ accountId, scope: 'read' }, accountAdmin);
    const listed = await fixture.api('GET', '/api/v1/api-tokens', { token: accountAdmin });
    assert.ok(listed.body.items.some((item: { id: string }) => item.id === own.id));
    assert.ok(
      listed.body.items.every((item: { accountId: string | null }) => item.accountId === accountId),
      'an account token lists its account only',
    );
    const globalAdmin = tokens['global-admin']!;
    assert.equal((await fixture.api('POST', '/api/v1/api-tokens', { token: globalAdmin, body: { scope: 'admin' } })).status, 201);
    assert.equal((await fixture.api('POST', '/api/v1/api-tokens', { body: { expiresOn: '2001-01-01T00:00:00Z' } })).status, 400, 'expiry in the past');
  });

  it('Should answer 401 once a token expires', async () => {
    const { token } = await newToken({ accountId, scope: 'read', expiresOn: new Date(Date.now() + 1500).toISOString() });
    assert.equal((await fixture.api('GET', '/api/v1/whoami', { token })).status, 200);
    await sleep(1600);
    assert.equal((await fixture.api('GET', '/api/v1/whoami', { token })).status, 401);
  });

  it('Should answer 401 at once after a revocation, record the revoker and show the token revoked', async () => {
    const { id, token } = await newToken({ accountId, scope: 'operator' });
    assert.equal((await fixture.api('GET', '/api/v1/whoami', { token })).status, 200);
    const revoked = await fixture.api('POST', `/api/v1/api-tokens/${id}/revoke`, { token: tokens['global-admin']! });
    assert.equal(revoked.status, 200);
    assert.equal(revoked.body.state, 'revoked');
    assert.equal((await fixture.api('GET', '/api/v1/whoami', { token })).status, 401);
    const events = await fixture.api('GET', `/api/v1/audit-events?accountId=${accountId}&type=api-token.revoked`);
    const event = events.body.items.find((item: { detail: { tokenId: string } }) => item.detail.tokenId === id);
    assert.equal(event?.actor, tokens['global-admin']!.split('.')[0]);
    assert.equal((await fixture.api('POST', `/api/v1/api-tokens/${id}/revoke`)).body.revokedOn, revoked.body.revokedOn, 'revoking again keeps the time');
  });

  it('Should record when a token was last used', async () => {
    const { id, token } = await newToken({ accountId, scope: 'read' });
    assert.equal((await fixture.api('GET', `/api/v1/api-tokens/${id}`)).body.lastUsedOn, null);
    const before = Date.now();
    await fixture.api('GET', '/api/v1/whoami', { token });
    const lastUsedOn = (await fixture.api('GET', `/api/v1/api-tokens/${id}`)).body.lastUsedOn;
    assert.ok(Date.parse(lastUsedOn) >= before - 1000, lastUsedOn);
  });

  it('Should list tokens without their secret or hash', async () => {
    const listed = await fixture.api('GET', '/api/v1/api-tokens');
    assert.equal(listed.status, 200);
    const text = JSON.stringify(listed.body);
    for (const token of Object.values(tokens)) {
      assert.ok(listed.body.items.some((item: { id: string }) => item.id === token.split('.')[0]));
      assert.ok(!text.includes(token.split('.')[1]!), 'no secret');
    }
    assert.ok(!text.includes('scrypt') && !text.includes('"hash"'), 'no hash');
    assert.deepEqual(Object.keys(listed.body.items[0]).sort(), [
      'accountId',
      'createdBy',
      'createdOn',
      'description',
      'expiresOn',
      'id',
      'lastUsedOn',
      'revokedOn',
      'scope',
      'state',
    ]);
  });
});
