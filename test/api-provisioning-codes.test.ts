import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import type { SessionEndNotice } from '../cluster/session-end-notice.ts';
import { provisioningCodeHash, provisioningCodeKeys } from '../crypto/provisioning-code-hash.ts';
import { startRedisOrSkip, type RedisServer } from '../dev-support/redis-server.ts';
import { openPlatformSecrets } from '../platform/platform-secrets.ts';
import { normalizeProvisioningCode } from '../protocol/enrollment.ts';
import { startApiFixture, type ApiFixture } from './support/api-fixture.ts';

/**
 * Provisioning codes over the admin API (issue 18; docs/PROTOCOL.md §18): made in batches and shown
 * once (JSON or CSV), stored only as the keyed hash the provision broker looks them up by, never
 * in a list, a view, the audit log or the log; listed by status, deleted; refused input named.
 */
const redis = await startRedisOrSkip();
after(async () => {
  await redis?.stop();
});
for (const backend of ['sqlite', 'redis'] as const) describeCodes(backend, backend === 'redis' ? redis : null);

const dayMs = 24 * 60 * 60 * 1000;
const formatted = /^\d{4}-\d{4}-\d{4}$/;

interface MadeCode {
  id: string;
  code: string;
  accountId: string;
  category: string | null;
  expiresOn: string;
}

function describeCodes(backend: 'sqlite' | 'redis', redis: RedisServer | null): void {
  describe(`Admin API: provisioning codes (${backend})`, { skip: backend === 'redis' && !redis ? 'redis-server is not installed' : false }, () => {
    let fixture: ApiFixture;
    let accountId: string;
    let otherAccountId: string;
    let accountToken: string;
    /** The key the broker looks codes up under: the same derivation from the same secrets file. */
    let codeKey: Buffer;
    /** Every line the API logged, at debug. */
    const logged: string[] = [];
    const notices: SessionEndNotice[] = [];
    /** Every code any test made, to look for them where they must not be. */
    const madeCodes: string[] = [];

    before(async () => {
      fixture = await startApiFixture({
        ...(redis ? { config: { storeBackend: 'redis', redisUrl: redis.url, redisKeyPrefix: `codes:${randomUUID()}:` } } : {}),
        logDestination: new Writable({
          write(chunk: Buffer, _encoding, done) {
            logged.push(chunk.toString());
            done();
          },
        }),
        sessions: { endSessions: async (notice) => void notices.push(notice) },
      });
      accountId = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'acme' } })).body.id;
      otherAccountId = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'globex' } })).body.id;
      accountToken = (await fixture.api('POST', '/api/v1/api-tokens', { body: { accountId, description: 'codes' } })).body.token;
      await fixture.api('POST', '/api/v1/categories', { body: { accountId, name: 'meters' } });
      await fixture.api('POST', '/api/v1/categories', { body: { accountId: otherAccountId, name: 'theirs' } });
      codeKey = provisioningCodeKeys((await openPlatformSecrets(fixture.config, fixture.store, fixture.log)).deviceKey).current;
    });
    after(async () => {
      await fixture.close();
    });

    async function makeCodes(body: Record<string, unknown>, token?: string): Promise<MadeCode[]> {
      const answer = await fixture.api('POST', '/api/v1/provisioning-codes', { body: { accountId, ...body }, ...(token ? { token } : {}) });
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      madeCodes.push(...(answer.body.items as MadeCode[]).map((item) => item.code));
      return answer.body.items;
    }

    const hashOf = (code: string): string => provisioningCodeHash(codeKey, normalizeProvisioningCode(code)!);
    const errorPaths = (body: { errors?: { path: string }[] }): string[] => [...new Set((body.errors ?? []).map((error) => error.path))];

    it('Should make count different codes of 12 digits, shown once, stored as the keyed hash the broker looks up', async () => {
      const before = Date.now();
      const items = await makeCodes({ category: 'meters', count: 25 });
      assert.equal(items.length, 25);
      assert.equal(new Set(items.map((item) => item.code)).size, 25);
      assert.equal(new Set(items.map((item) => item.id)).size, 25);
      for (const item of items) {
        assert.deepEqual(Object.keys(item).sort(), ['accountId', 'category', 'code', 'expiresOn', 'id']);
        assert.match(item.code, formatted);
        assert.equal(item.accountId, accountId);
        assert.equal(item.category, 'meters');
        const expiresOn = Date.parse(item.expiresOn);
        assert.ok(expiresOn >= before + 7 * dayMs && expiresOn <= Date.now() + 7 * dayMs, 'the default validity: 7 days');

        const stored = await fixture.store.findProvisioningCodeByHash(hashOf(item.code));
        assert.equal(stored?.id, item.id, 'found by the hash of its digits under the platform key');
        assert.equal(stored.status, 'PENDING');
        assert.equal(stored.createdBy, 'admin');
        assert.ok(!JSON.stringify(stored).includes(normalizeProvisioningCode(item.code)!), 'the record holds no code');

        const read = await fixture.api('GET', `/api/v1/provisioning-codes/${item.id}`);
        assert.equal(read.status, 200);
        assert.deepEqual(Object.keys(read.body).sort(), [
          'accountId',
          'category',
          'clientId',
          'createdBy',
          'createdOn',
          'expiresOn',
          'id',
          'provisionRequestId',
          'registeredOn',
          'status',
        ]);
        assert.equal(read.body.status, 'PENDING');
        assert.equal(read.body.expiresOn, item.expiresOn);
      }
      const audited = (await fixture.api('GET', `/api/v1/audit-events?accountId=${accountId}&type=provisioning-code.created`)).body.items;
      const event = audited.find((candidate: { detail: { provisioningCodeIds: string[] } }) => candidate.detail.provisioningCodeIds.includes(items[0]!.id));
      assert.equal(event.detail.count, 25);
      assert.equal(event.detail.category, 'meters');
    });

    it('Should answer the codes as a CSV file with Accept: text/csv', async () => {
      const answer = await fixture.api('POST', '/api/v1/provisioning-codes', {
        body: { accountId, count: 3, validityDays: 1 },
        headers: { accept: 'text/csv' },
      });
      assert.equal(answer.status, 201);
      assert.match(answer.headers.get('content-type') ?? '', /^text\/csv/);
      assert.equal(answer.headers.get('content-disposition'), 'attachment; filename="provisioning-codes.csv"');
      assert.equal(answer.headers.get('cache-control'), 'no-store');
      const text = answer.body as string;
      assert.equal(text.split('\n')[0], 'id,code,accountId,category,expiresOn');
      const rows = parse(text, { columns: true }) as Record<string, string>[];
      assert.equal(rows.length, 3);
      for (const row of rows) {
        madeCodes.push(row['code']!);
        assert.match(row['code']!, formatted);
        assert.equal(row['accountId'], accountId);
        assert.equal(row['category'], '');
        assert.ok(Math.abs(Date.parse(row['expiresOn']!) - (Date.now() + dayMs)) < 60_000, 'validityDays: 1');
        assert.equal((await fixture.store.findProvisioningCodeByHash(hashOf(row['code']!)))?.id, row['id']);
      }
    });

    it('Should list codes by status without a code or hash, as JSON or CSV, and delete them', async () => {
      const [used, registered, pending] = await makeCodes({ category: 'meters', count: 3 });
      assert.ok(used && registered && pending);
      assert.equal(await fixture.store.bindProvisioningCode(used.id, 'dev-used', 'request-used'), true);
      assert.equal(await fixture.store.bindProvisioningCode(registered.id, 'dev-registered', 'request-registered'), true);
      assert.equal(await fixture.store.markProvisioningCodeRegistered(registered.id, Date.now()), true);

      const ofStatus = async (status: string) =>
        (await fixture.api('GET', `/api/v1/provisioning-codes?accountId=${accountId}&status=${status}&limit=1000`)).body.items as {
          id: string;
          clientId: string | null;
          provisionRequestId: string | null;
          registeredOn: string | null;
        }[];
      const registeredList = await ofStatus('REGISTERED');
      const shown = registeredList.find((code) => code.id === registered.id);
      assert.equal(shown?.clientId, 'dev-registered');
      assert.equal(shown.provisionRequestId, 'request-registered');
      assert.ok(shown.registeredOn);
      const pendingIds = (await ofStatus('PENDING')).map((code) => code.id);
      assert.ok(pendingIds.includes(used.id) && pendingIds.includes(pending.id) && !pendingIds.includes(registered.id));
      assert.equal((await ofStatus('PENDING')).find((code) => code.id === used.id)?.clientId, 'dev-used');

      const list = await fixture.api('GET', `/api/v1/provisioning-codes?accountId=${accountId}&limit=1000`);
      assert.equal(list.status, 200);
      const csv = await fixture.api('GET', `/api/v1/provisioning-codes?accountId=${accountId}`, { headers: { accept: 'text/csv' } });
      assert.equal(csv.status, 200);
      assert.equal((csv.body as string).split('\n')[0], 'id,accountId,category,status,clientId,provisionRequestId,createdOn,createdBy,expiresOn,registeredOn');
      assert.equal((parse(csv.body as string, { columns: true }) as unknown[]).length, list.body.total);
      for (const text of [JSON.stringify(list.body), csv.body as string]) {
        for (const code of madeCodes) {
          assert.ok(!text.includes(normalizeProvisioningCode(code)!) && !text.includes(code), 'no code in a list');
          assert.ok(!text.includes(hashOf(code)), 'no hash in a list');
        }
      }
      assert.equal((await fixture.api('GET', '/api/v1/provisioning-codes?status=USED')).status, 400);

      assert.equal((await fixture.api('DELETE', `/api/v1/provisioning-codes/${pending.id}`)).status, 204);
      assert.equal((await fixture.api('GET', `/api/v1/provisioning-codes/${pending.id}`)).status, 404);
      assert.equal(await fixture.store.findProvisioningCodeByHash(hashOf(pending.code)), null, 'a deleted code admits nobody');
      assert.equal((await fixture.api('DELETE', `/api/v1/provisioning-codes/${pending.id}`)).status, 404);

      const count = notices.length;
      assert.equal((await fixture.api('DELETE', `/api/v1/provisioning-codes/${used.id}`)).status, 204);
      assert.deepEqual(notices.slice(count), [{ kind: 'provision-request', clientId: 'dev-used', provisionRequestId: 'request-used', cause: 'deleted' }]);
      assert.equal((await fixture.api('DELETE', `/api/v1/provisioning-codes/${registered.id}`)).status, 204, "a used code's record goes too");
      assert.equal(notices.length, count + 1, 'a registered code has no session to end');
      const deletions = (await fixture.api('GET', `/api/v1/audit-events?accountId=${accountId}&type=provisioning-code.deleted`)).body.items;
      assert.deepEqual(
        deletions.map((event: { detail: { provisioningCodeId: string } }) => event.detail.provisioningCodeId).sort(),
        [pending.id, used.id, registered.id].sort(),
      );
    });

    it('Should refuse bad input with a problem naming each field, making nothing', async () => {
      const before = (await fixture.store.listProvisioningCodes({ limit: 0 })).total;
      for (const [body, paths] of [
        [{ count: 0 }, ['body/count']],
        [{ count: 1001 }, ['body/count']],
        [{ count: 1.5 }, ['body/count']],
        [{}, ['body/count']],
        [{ count: 1, validityDays: 0 }, ['body/validityDays']],
        [{ count: 1, validityDays: 32 }, ['body/validityDays']],
        [{ count: 1, category: 'theirs' }, ['body/category']],
        [{ count: 1, category: 'not a name' }, ['body/category']],
        [{ count: 1, code: '123456789012' }, ['body/code']],
        [{ count: 1, accountId: 'no-such-account' }, ['body/accountId']],
        [{ count: 1, accountId: undefined }, ['body/accountId']],
      ] as const) {
        const answer = await fixture.api('POST', '/api/v1/provisioning-codes', { body: { accountId, ...body } });
        assert.equal(answer.status, 400, JSON.stringify(body));
        assert.equal(answer.headers.get('content-type'), 'application/problem+json; charset=utf-8');
        assert.equal(answer.body.code, 'VALIDATION_FAILED');
        assert.deepEqual(errorPaths(answer.body), paths, JSON.stringify(body));
      }
      assert.equal((await fixture.store.listProvisioningCodes({ limit: 0 })).total, before);
    });

    it('Should make up to 1000 codes in one request', async () => {
      const items = await makeCodes({ count: 1000 });
      assert.equal(new Set(items.map((item) => item.code)).size, 1000);
    });

    it("Should let an account token make, see and delete only its own account's codes", async () => {
      const [own] = await makeCodes({ count: 1 }, accountToken);
      assert.ok(own);
      const [theirs] = await makeCodes({ accountId: otherAccountId, count: 1 });
      assert.ok(theirs);
      assert.equal(
        (await fixture.api('POST', '/api/v1/provisioning-codes', { body: { accountId: otherAccountId, count: 1 }, token: accountToken })).status,
        403,
      );
      assert.equal((await fixture.api('GET', `/api/v1/provisioning-codes/${own.id}`, { token: accountToken })).status, 200);
      assert.equal((await fixture.api('GET', `/api/v1/provisioning-codes/${theirs.id}`, { token: accountToken })).status, 404);
      assert.equal((await fixture.api('DELETE', `/api/v1/provisioning-codes/${theirs.id}`, { token: accountToken })).status, 404);
      assert.equal((await fixture.api('GET', `/api/v1/provisioning-codes/${theirs.id}`)).status, 200, 'untouched');
      const { total } = (await fixture.api('GET', '/api/v1/provisioning-codes?limit=1', { token: accountToken })).body;
      const newest = await fixture.api('GET', `/api/v1/provisioning-codes?offset=${total - 5}&limit=1000`, { token: accountToken });
      assert.ok(newest.body.items.every((code: { accountId: string }) => code.accountId === accountId));
      assert.equal(newest.body.items.at(-1).id, own.id, 'oldest first: the newest of its account last');
      assert.equal((await fixture.api('GET', `/api/v1/provisioning-codes?accountId=${otherAccountId}`, { token: accountToken })).status, 403);
      const all = await fixture.api('GET', '/api/v1/provisioning-codes?limit=1');
      const ofOther = await fixture.api('GET', `/api/v1/provisioning-codes?accountId=${otherAccountId}&limit=1`);
      assert.equal(all.body.total, total + ofOther.body.total, 'the admin lists every account');
    });

    it('Should keep a category that unused codes name, and let it go once they are used or deleted', async () => {
      await fixture.api('POST', '/api/v1/categories', { body: { accountId, name: 'kept' } });
      const category = (await fixture.store.getCategoryByName(accountId, 'kept'))!;
      const [code] = await makeCodes({ category: 'kept', count: 1 });
      const refused = await fixture.api('DELETE', `/api/v1/categories/${category.id}`);
      assert.equal(refused.status, 409);
      assert.match(refused.body.detail, /1 unused provisioning code/);
      assert.equal((await fixture.api('DELETE', `/api/v1/provisioning-codes/${code!.id}`)).status, 204);
      assert.equal((await fixture.api('DELETE', `/api/v1/categories/${category.id}`)).status, 204);
    });

    it('Should never log or audit a code', async () => {
      const events = JSON.stringify((await fixture.api('GET', '/api/v1/audit-events?limit=1000')).body);
      const logs = logged.join('');
      assert.ok(logs.length > 0, 'the API logged at debug');
      assert.ok(madeCodes.length > 1000);
      for (const code of madeCodes) {
        const digits = normalizeProvisioningCode(code)!;
        for (const text of [events, logs]) assert.ok(!text.includes(digits) && !text.includes(code), `code ${code} found`);
      }
    });
  });
}
