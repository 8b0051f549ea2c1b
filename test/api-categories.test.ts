import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { addPlatformFormats } from '../api/validation.ts';
import { componentSchemas, type SchemaName } from '../api/schemas/index.ts';
import type { FleetUpdateNotice } from '../cluster/fleet-update-notice.ts';
import { startRedisOrSkip, type RedisServer } from '../dev-support/redis-server.ts';
import { startApiFixture, type ApiFixture } from './support/api-fixture.ts';

/** Categories over the admin API (issue 15 §2), over HTTP against each real store backend. */
const redis = await startRedisOrSkip();
after(async () => {
  await redis?.stop();
});
for (const backend of ['sqlite', 'redis'] as const) describeCategories(backend, backend === 'redis' ? redis : null);

function describeCategories(backend: 'sqlite' | 'redis', redis: RedisServer | null): void {
  describe(`Admin API: categories (${backend})`, { skip: backend === 'redis' && !redis ? 'redis-server is not installed' : false }, () => {
    let fixture: ApiFixture;
    let accountId: string;
    let otherAccountId: string;
    let accountToken: string;
    /** What the API handed to the broker side: the fleet-update sender of a process without a broker, recorded. */
    const notices: FleetUpdateNotice[] = [];

    before(async () => {
      fixture = await startApiFixture({
        ...(redis ? { config: { storeBackend: 'redis', redisUrl: redis.url, redisKeyPrefix: `categories:${randomUUID()}:` } } : {}),
        fleetUpdates: { tellToUpdate: async (notice) => void notices.push(notice) },
      });
      accountId = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'acme' } })).body.id;
      otherAccountId = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'globex' } })).body.id;
      accountToken = (await fixture.api('POST', '/api/v1/api-tokens', { body: { accountId, description: 'categories' } })).body.token;
    });
    after(async () => {
      await fixture.close();
    });

    const createCategory = (body: Record<string, unknown>, token?: string) =>
      fixture.api('POST', '/api/v1/categories', { body: { accountId, ...body }, ...(token ? { token } : {}) });
    const createRequest = (body: Record<string, unknown>) => fixture.api('POST', '/api/v1/provision-requests', { body: { accountId, ...body } });
    const createConfiguration = async (account: string, name: string): Promise<string> =>
      (await fixture.api('POST', '/api/v1/configurations', { body: { accountId: account, name, content: { name } } })).body.id;

    /** The answer matches the schema the API publishes under that name. */
    function conforms(schemaName: SchemaName, value: unknown): void {
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      addPlatformFormats(ajv);
      ajv.addSchema({ $id: 'https://provisio.dev/openapi.json', components: { schemas: JSON.parse(JSON.stringify(componentSchemas)) } });
      const validate = ajv.compile({ $ref: `https://provisio.dev/openapi.json#/components/schemas/${schemaName}` });
      assert.ok(validate(value), `${schemaName}: ${ajv.errorsText(validate.errors)}`);
    }

    async function auditTypes(categoryId: string): Promise<string[]> {
      const { body } = await fixture.api('GET', `/api/v1/audit-events?accountId=${accountId}&limit=1000`);
      return (body.items as { type: string; detail: { categoryId?: string } }[])
        .filter((event) => event.detail.categoryId === categoryId)
        .map((event) => event.type)
        .sort();
    }

    describe('CRUD', () => {
      it('Should create, read, list by name, change and delete a category, auditing each change', async () => {
        const configurationId = await createConfiguration(accountId, 'crud');
        const created = await createCategory({ name: 'crud-b', description: 'second by name', configurationId });
        assert.equal(created.status, 201);
        conforms('Category', created.body);
        assert.equal(created.body.accountId, accountId);
        assert.equal(created.body.name, 'crud-b');
        assert.equal(created.body.description, 'second by name');
        assert.equal(created.body.configurationId, configurationId);
        assert.deepEqual(created.body.bundleIds, []);
        assert.equal(created.body.version, 1);

        const defaults = await createCategory({ name: 'crud-a' });
        assert.equal(defaults.status, 201);
        assert.equal(defaults.body.description, '');
        assert.equal(defaults.body.configurationId, null);

        const read = await fixture.api('GET', `/api/v1/categories/${created.body.id}`);
        assert.equal(read.status, 200);
        assert.deepEqual(read.body, created.body);

        const list = await fixture.api('GET', `/api/v1/categories?accountId=${accountId}`);
        assert.equal(list.status, 200);
        conforms('CategoryPage', list.body);
        const names = (list.body.items as { name: string }[]).map((category) => category.name);
        assert.ok(names.indexOf('crud-a') < names.indexOf('crud-b'), `ordered by name: ${names.join(', ')}`);

        const changed = await fixture.api('PATCH', `/api/v1/categories/${created.body.id}`, {
          body: { version: 1, description: 'changed', configurationId: null },
        });
        assert.equal(changed.status, 200);
        assert.equal(changed.body.description, 'changed');
        assert.equal(changed.body.configurationId, null);
        assert.equal(changed.body.name, 'crud-b');
        assert.equal(changed.body.version, 2);

        assert.equal((await fixture.api('DELETE', `/api/v1/categories/${created.body.id}`)).status, 204);
        assert.equal((await fixture.api('GET', `/api/v1/categories/${created.body.id}`)).status, 404);
        assert.equal((await fixture.api('DELETE', `/api/v1/categories/${created.body.id}`)).status, 404);
        assert.deepEqual(await auditTypes(created.body.id), ['category.created', 'category.deleted', 'category.updated']);
      });

      it('Should refuse a name that is not a plain word, naming the field', async () => {
        for (const name of ['', 'has space', '-leading', '.hidden', 'a/b', 'comma,name', 'é', 'line\nbreak', 'x'.repeat(65)]) {
          const { status, body } = await createCategory({ name });
          assert.equal(status, 400, JSON.stringify(name));
          assert.equal(body.code, 'VALIDATION_FAILED');
          assert.equal(body.errors[0].path, 'body/name', JSON.stringify(name));
        }
        for (const name of ['1.x_y-Z', 'x'.repeat(64)]) assert.equal((await createCategory({ name })).status, 201, name);
        assert.equal((await createCategory({})).body.errors[0].path, 'body/name');
      });

      it('Should answer 409 DUPLICATE for a name the account has, and allow it in another account', async () => {
        assert.equal((await createCategory({ name: 'taken' })).status, 201);
        const again = await createCategory({ name: 'taken', description: 'other' });
        assert.equal(again.status, 409);
        assert.equal(again.body.code, 'DUPLICATE');
        assert.equal((await createCategory({ name: 'taken', accountId: otherAccountId })).status, 201);
      });

      it("Should refuse a configuration or bundle that is not the account's, naming the field", async () => {
        const theirs = await createConfiguration(otherAccountId, 'theirs');
        const foreign = await createCategory({ name: 'foreign', configurationId: theirs, bundleIds: ['no-such-bundle'] });
        assert.equal(foreign.status, 400);
        assert.deepEqual(
          (foreign.body.errors as { path: string }[]).map((error) => error.path),
          ['body/configurationId', 'body/bundleIds/0'],
        );
        assert.equal((await createCategory({ name: 'no-account', accountId: 'no-such-account' })).body.errors[0].path, 'body/accountId');

        const created = await createCategory({ name: 'foreign-later' });
        const patched = await fixture.api('PATCH', `/api/v1/categories/${created.body.id}`, { body: { version: 1, configurationId: theirs } });
        assert.equal(patched.status, 400);
        assert.equal(patched.body.errors[0].path, 'body/configurationId');
      });

      it('Should change only with the version read (409 VERSION_CONFLICT on a stale one), and never the name', async () => {
        const { body: category } = await createCategory({ name: 'versioned' });
        assert.equal((await fixture.api('PATCH', `/api/v1/categories/${category.id}`, { body: { version: 1, description: 'one' } })).status, 200);
        const stale = await fixture.api('PATCH', `/api/v1/categories/${category.id}`, { body: { version: 1, description: 'two' } });
        assert.equal(stale.status, 409);
        assert.equal(stale.body.code, 'VERSION_CONFLICT');
        const renamed = await fixture.api('PATCH', `/api/v1/categories/${category.id}`, { body: { version: 2, name: 'renamed' } });
        assert.equal(renamed.status, 400);
        assert.equal(renamed.body.errors[0].path, 'body/name');
        assert.equal((await fixture.api('PATCH', `/api/v1/categories/${category.id}`, { body: { version: 2 } })).status, 400);
        const read = await fixture.api('GET', `/api/v1/categories/${category.id}`);
        assert.equal(read.body.description, 'one');
        assert.equal(read.body.name, 'versioned');
      });
    });

    describe('account tokens', () => {
      it("Should see and change only its own account's categories (404 for another account's)", async () => {
        const own = await createCategory({ name: 'own-token' }, accountToken);
        assert.equal(own.status, 201);
        const theirs = await createCategory({ name: 'their-token', accountId: otherAccountId });
        assert.equal(theirs.status, 201);

        assert.equal((await fixture.api('GET', `/api/v1/categories/${own.body.id}`, { token: accountToken })).status, 200);
        assert.equal((await fixture.api('GET', `/api/v1/categories/${theirs.body.id}`, { token: accountToken })).status, 404);
        const patch = { body: { version: 1, description: 'mine now' }, token: accountToken };
        assert.equal((await fixture.api('PATCH', `/api/v1/categories/${theirs.body.id}`, patch)).status, 404);
        assert.equal((await fixture.api('DELETE', `/api/v1/categories/${theirs.body.id}`, { token: accountToken })).status, 404);
        assert.equal((await fixture.api('GET', `/api/v1/categories/${theirs.body.id}`)).body.version, 1, 'untouched');

        const list = await fixture.api('GET', '/api/v1/categories', { token: accountToken });
        assert.equal(list.status, 200);
        assert.ok((list.body.items as { accountId: string }[]).every((category) => category.accountId === accountId));
        assert.ok((list.body.items as { name: string }[]).some((category) => category.name === 'own-token'));
        assert.equal((await fixture.api('GET', `/api/v1/categories?accountId=${otherAccountId}`, { token: accountToken })).status, 403);
        assert.equal((await createCategory({ name: 'sneaky', accountId: otherAccountId }, accountToken)).status, 403);
        assert.equal((await fixture.api('GET', '/api/v1/categories')).status, 400, 'the admin names the account');
      });
    });

    describe('deleting a category in use', () => {
      it('Should refuse with 409 while a provision request or a device names it', async () => {
        const { body: category } = await createCategory({ name: 'in-use' });
        const request = await createRequest({ clientId: 'in-use-request', category: 'in-use' });
        assert.equal(request.status, 201);
        const refused = await fixture.api('DELETE', `/api/v1/categories/${category.id}`);
        assert.equal(refused.status, 409);
        assert.match(refused.body.detail, /0 device\(s\) and 1 provision request\(s\)/);

        assert.equal((await fixture.api('DELETE', `/api/v1/provision-requests/${request.body.id}`)).status, 204);
        await fixture.store.upsertDevice(accountId, 'in-use-device', { category: 'in-use' });
        const stillRefused = await fixture.api('DELETE', `/api/v1/categories/${category.id}`);
        assert.equal(stillRefused.status, 409);
        assert.match(stillRefused.body.detail, /1 device\(s\) and 0 provision request\(s\)/);

        await fixture.store.upsertDevice(accountId, 'in-use-device', { category: null });
        assert.equal((await fixture.api('DELETE', `/api/v1/categories/${category.id}`)).status, 204);
      });

      it("Should not count another account's devices and requests of the same name", async () => {
        const { body: category } = await createCategory({ name: 'same-name' });
        await createCategory({ name: 'same-name', accountId: otherAccountId });
        assert.equal((await createRequest({ accountId: otherAccountId, clientId: 'same-name-elsewhere', category: 'same-name' })).status, 201);
        await fixture.store.upsertDevice(otherAccountId, 'same-name-device', { category: 'same-name' });
        assert.equal((await fixture.api('DELETE', `/api/v1/categories/${category.id}`)).status, 204);
      });
    });

    describe('provision requests with a category and tags', () => {
      it('Should keep the category and tags of a request (tags sorted, without repeats) and refuse an unknown category', async () => {
        await createCategory({ name: 'sensors' });
        const created = await createRequest({ clientId: 'tagged-1', category: 'sensors', tags: ['roof', 'north', 'roof'] });
        assert.equal(created.status, 201);
        conforms('CreatedProvisionRequest', created.body);
        assert.equal(created.body.category, 'sensors');
        assert.deepEqual(created.body.tags, ['north', 'roof']);
        const read = await fixture.api('GET', `/api/v1/provision-requests/${created.body.id}`);
        conforms('ProvisionRequest', read.body);
        assert.equal(read.body.category, 'sensors');
        assert.deepEqual(read.body.tags, ['north', 'roof']);

        const plain = await createRequest({ clientId: 'untagged' });
        assert.equal(plain.body.category, null);
        assert.deepEqual(plain.body.tags, []);

        const unknown = await createRequest({ clientId: 'tagged-unknown', category: 'no-such-category' });
        assert.equal(unknown.status, 400);
        assert.deepEqual(unknown.body.errors, [{ path: 'body/category', message: 'names no category of this account' }]);
        const elsewhere = await createCategory({ name: 'globex-only', accountId: otherAccountId });
        assert.equal(elsewhere.status, 201);
        assert.equal((await createRequest({ clientId: 'tagged-elsewhere', category: 'globex-only' })).body.errors[0].path, 'body/category');
        assert.equal((await fixture.store.listProvisionRequests({ clientIds: ['tagged-unknown', 'tagged-elsewhere'] })).total, 0);

        assert.equal((await createRequest({ clientId: 'bad-name', category: 'not a name' })).body.errors[0].path, 'body/category');
        assert.equal((await createRequest({ clientId: 'bad-tag', tags: ['ok', 'line\nbreak'] })).body.errors[0].path, 'body/tags/1');
        const tooMany = Array.from({ length: 33 }, (_, i) => `t${i}`);
        assert.equal((await createRequest({ clientId: 'many-tags', tags: tooMany })).body.errors[0].path, 'body/tags');
      });

      it("Should change a request's category and tags with PATCH, checking the category", async () => {
        await createCategory({ name: 'gateways' });
        const { body: request } = await createRequest({ clientId: 'moved-request', tags: ['a'] });
        const moved = await fixture.api('PATCH', `/api/v1/provision-requests/${request.id}`, {
          body: { version: request.version, category: 'gateways', tags: ['z', 'b'] },
        });
        assert.equal(moved.status, 200);
        assert.equal(moved.body.category, 'gateways');
        assert.deepEqual(moved.body.tags, ['b', 'z']);
        const unknown = await fixture.api('PATCH', `/api/v1/provision-requests/${request.id}`, { body: { version: moved.body.version, category: 'nowhere' } });
        assert.equal(unknown.status, 400);
        assert.equal(unknown.body.errors[0].path, 'body/category');
        const cleared = await fixture.api('PATCH', `/api/v1/provision-requests/${request.id}`, { body: { version: moved.body.version, category: null } });
        assert.equal(cleared.status, 200);
        assert.equal(cleared.body.category, null);
      });

      it('Should list the requests of one category', async () => {
        await createCategory({ name: 'listed' });
        for (const clientId of ['listed-1', 'listed-2']) assert.equal((await createRequest({ clientId, category: 'listed' })).status, 201);
        await createRequest({ clientId: 'not-listed' });
        const { status, body } = await fixture.api('GET', `/api/v1/provision-requests?accountId=${accountId}&category=listed`);
        assert.equal(status, 200);
        assert.deepEqual((body.items as { clientId: string }[]).map((request) => request.clientId).sort(), ['listed-1', 'listed-2']);
        assert.equal(body.total, 2);
        assert.equal((await fixture.api('GET', '/api/v1/provision-requests?category=bad%20name')).status, 400);
      });

      it('Should refuse a whole batch naming an unknown category (400 naming the item, nothing created)', async () => {
        await createCategory({ name: 'fleet' });
        const requests = Array.from({ length: 5 }, (_, i) => ({ accountId, clientId: `batch-category-${i}`, category: i === 3 ? 'flete' : 'fleet' }));
        const { status, body } = await fixture.api('POST', '/api/v1/provision-requests/batch', { body: { requests } });
        assert.equal(status, 400);
        assert.deepEqual(body.errors, [{ path: 'body/requests/3/category', message: 'names no category of this account' }]);
        const clientIds = requests.map((request) => request.clientId);
        assert.equal((await fixture.store.listProvisionRequests({ clientIds })).total, 0);

        requests[3] = { ...requests[3]!, category: 'fleet' };
        const good = await fixture.api('POST', '/api/v1/provision-requests/batch', { body: { requests } });
        assert.equal(good.status, 201);
        assert.deepEqual(
          (good.body.created as { category: string }[]).map((request) => request.category),
          ['fleet', 'fleet', 'fleet', 'fleet', 'fleet'],
        );
      });
    });

    describe('telling online devices', () => {
      it("Should tell exactly the category's online devices when its configuration or bundles change, in notices of at most 500", async () => {
        const { body: category } = await createCategory({ name: 'pushed' });
        const online = Array.from({ length: 1001 }, (_, i) => `pushed-${String(i).padStart(4, '0')}`);
        await Promise.all(online.map((clientId) => fixture.store.upsertDevice(accountId, clientId, { category: 'pushed', online: true })));
        await fixture.store.upsertDevice(accountId, 'pushed-offline', { category: 'pushed', online: false });
        await fixture.store.upsertDevice(accountId, 'other-online', { category: 'other', online: true });
        await fixture.store.upsertDevice(otherAccountId, 'pushed-elsewhere', { category: 'pushed', online: true });

        notices.length = 0;
        const described = await fixture.api('PATCH', `/api/v1/categories/${category.id}`, { body: { version: 1, description: 'no device cares' } });
        assert.equal(described.status, 200);
        assert.equal(notices.length, 0, 'a description changes nothing on the devices');

        const configurationId = await createConfiguration(accountId, 'pushed');
        const changed = await fixture.api('PATCH', `/api/v1/categories/${category.id}`, { body: { version: 2, configurationId } });
        assert.equal(changed.status, 200);
        assert.deepEqual(
          notices.map((notice) => notice.clientIds.length),
          [500, 500, 1],
        );
        for (const notice of notices) {
          assert.equal(notice.accountId, accountId);
          assert.equal(notice.accountName, 'acme');
          assert.equal(notice.cause, 'category');
        }
        assert.deepEqual(notices.flatMap((notice) => notice.clientIds).sort(), online);

        notices.length = 0;
        const same = await fixture.api('PATCH', `/api/v1/categories/${category.id}`, { body: { version: 3, configurationId } });
        assert.equal(same.status, 200);
        assert.equal(notices.length, 0, 'the same configuration again changes nothing');

        const audit = await fixture.api('GET', `/api/v1/audit-events?accountId=${accountId}&type=category.updated&limit=1000`);
        const details = (audit.body.items as { detail: { categoryId: string; devicesTold: number; fields: string[] } }[])
          .filter((event) => event.detail.categoryId === category.id)
          .map((event) => [event.detail.fields.join(','), event.detail.devicesTold]);
        assert.deepEqual(details.sort(), [
          ['configurationId', 0],
          ['configurationId', 1001],
          ['description', 0],
        ]);
      });
    });
  });
}
