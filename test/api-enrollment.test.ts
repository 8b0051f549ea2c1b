import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { componentSchemas, type SchemaName } from '../api/schemas/index.ts';
import { addPlatformFormats } from '../api/validation.ts';
import type { SessionEndNotice } from '../cluster/session-end-notice.ts';
import { startRedisOrSkip, type RedisServer } from '../dev-support/redis-server.ts';
import { startApiFixture, type ApiFixture } from './support/api-fixture.ts';
import { issueFactoryCertificate, makeManufacturerCa } from './support/factory-certificates.ts';

/**
 * Zero-touch onboarding over the admin API (issue 18): manufacturer CAs, blocked factory
 * certificates, enrollment groups (their references and tenant isolation) and device assignments,
 * over HTTP against each real store backend.
 */
const redis = await startRedisOrSkip();
after(async () => {
  await redis?.stop();
});
for (const backend of ['sqlite', 'redis'] as const) describeEnrollment(backend, backend === 'redis' ? redis : null);

function describeEnrollment(backend: 'sqlite' | 'redis', redis: RedisServer | null): void {
  describe(`Admin API: zero-touch onboarding records (${backend})`, { skip: backend === 'redis' && !redis ? 'redis-server is not installed' : false }, () => {
    let fixture: ApiFixture;
    let accountId: string;
    let otherAccountId: string;
    /** An operator-scoped token of accountId. */
    let accountToken: string;
    /** What the API told the brokers: the session-end notices of a process without a broker, recorded. */
    const notices: SessionEndNotice[] = [];

    before(async () => {
      fixture = await startApiFixture({
        ...(redis ? { config: { storeBackend: 'redis', redisUrl: redis.url, redisKeyPrefix: `enrollment:${randomUUID()}:` } } : {}),
        sessions: { endSessions: async (notice) => void notices.push(notice) },
      });
      accountId = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'acme' } })).body.id;
      otherAccountId = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'globex' } })).body.id;
      accountToken = (await fixture.api('POST', '/api/v1/api-tokens', { body: { accountId, description: 'enrollment' } })).body.token;
    });
    after(async () => {
      await fixture.close();
    });

    /** The answer matches the schema the API publishes under that name. */
    function conforms(schemaName: SchemaName, value: unknown): void {
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      addPlatformFormats(ajv);
      ajv.addSchema({ $id: 'https://provisio.dev/openapi.json', components: { schemas: JSON.parse(JSON.stringify(componentSchemas)) } });
      const validate = ajv.compile({ $ref: `https://provisio.dev/openapi.json#/components/schemas/${schemaName}` });
      assert.ok(validate(value), `${schemaName}: ${ajv.errorsText(validate.errors)}`);
    }

    /** Where the problem says the input is wrong (each place once: one value may break two rules). */
    const errorPaths = (body: { errors?: { path: string }[] }): string[] => [...new Set((body.errors ?? []).map((error) => error.path))];

    async function registerCa(name = `maker-${randomUUID().slice(0, 8)}`): Promise<{ id: string; version: number; pem: string }> {
      const kit = makeManufacturerCa(name);
      const answer = await fixture.api('POST', '/api/v1/manufacturer-cas', { body: { name, pem: kit.certPem } });
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      return answer.body;
    }

    const createGroup = (body: Record<string, unknown>, token?: string) =>
      fixture.api('POST', '/api/v1/enrollment-groups', {
        body: { accountId, name: `group-${randomUUID().slice(0, 8)}`, ...body },
        ...(token ? { token } : {}),
      });

    async function auditEvents(type: string): Promise<{ type: string; actor: string; accountId: string | null; detail: Record<string, unknown> }[]> {
      const { body } = await fixture.api('GET', `/api/v1/audit-events?type=${type}&limit=1000`);
      return body.items;
    }

    async function uploadBundle(account: string): Promise<string> {
      const response = await fetch(`${fixture.baseUrl}/api/v1/bundles?accountId=${account}&name=app-${randomUUID().slice(0, 8)}&version=1`, {
        method: 'POST',
        headers: { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/octet-stream' },
        body: randomBytes(64),
      });
      assert.equal(response.status, 201);
      return ((await response.json()) as { id: string }).id;
    }

    describe('manufacturer CAs', () => {
      it('Should register a CA certificate with its fingerprint, subject and end of validity, list, read, rename and delete it, auditing each change', async () => {
        const kit = makeManufacturerCa('Example Maker CA');
        const created = await fixture.api('POST', '/api/v1/manufacturer-cas', { body: { name: 'example-maker', pem: `\n${kit.certPem}\n` } });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        conforms('ManufacturerCa', created.body);
        const certificate = new X509Certificate(kit.certPem);
        assert.equal(created.body.fingerprintSha256, createHash('sha256').update(certificate.raw).digest('hex'));
        assert.equal(created.body.subject, 'CN=Example Maker CA');
        assert.equal(Date.parse(created.body.notAfter), Date.parse(certificate.validTo));
        assert.equal(created.body.enabled, true);
        assert.equal(new X509Certificate(created.body.pem).fingerprint256, certificate.fingerprint256);

        assert.deepEqual((await fixture.api('GET', `/api/v1/manufacturer-cas/${created.body.id}`)).body, created.body);
        const list = await fixture.api('GET', '/api/v1/manufacturer-cas');
        assert.equal(list.status, 200);
        conforms('ManufacturerCaList', list.body);
        assert.ok(list.body.items.some((ca: { id: string }) => ca.id === created.body.id));

        const renamed = await fixture.api('PATCH', `/api/v1/manufacturer-cas/${created.body.id}`, {
          body: { version: created.body.version, name: 'renamed-maker' },
        });
        assert.equal(renamed.status, 200);
        assert.equal(renamed.body.name, 'renamed-maker');
        assert.equal(renamed.body.fingerprintSha256, created.body.fingerprintSha256);
        const stale = await fixture.api('PATCH', `/api/v1/manufacturer-cas/${created.body.id}`, { body: { version: created.body.version, enabled: false } });
        assert.equal(stale.status, 409);
        assert.equal(stale.body.code, 'VERSION_CONFLICT');

        assert.equal((await fixture.api('DELETE', `/api/v1/manufacturer-cas/${created.body.id}`)).status, 204);
        assert.equal((await fixture.api('GET', `/api/v1/manufacturer-cas/${created.body.id}`)).status, 404);
        const mine = async (type: string) => (await auditEvents(type)).filter((event) => event.detail['manufacturerCaId'] === created.body.id);
        assert.equal((await mine('manufacturer-ca.created')).length, 1);
        assert.equal((await mine('manufacturer-ca.updated')).length, 1);
        assert.equal((await mine('manufacturer-ca.deleted')).length, 1);
        assert.equal((await mine('manufacturer-ca.created'))[0]!.accountId, null);
      });

      it('Should answer 409 DUPLICATE for a certificate or a name registered already', async () => {
        const kit = makeManufacturerCa('Twice CA');
        assert.equal((await fixture.api('POST', '/api/v1/manufacturer-cas', { body: { name: 'twice', pem: kit.certPem } })).status, 201);
        const sameCertificate = await fixture.api('POST', '/api/v1/manufacturer-cas', { body: { name: 'twice-again', pem: kit.certPem } });
        assert.equal(sameCertificate.status, 409);
        assert.equal(sameCertificate.body.code, 'DUPLICATE');
        const sameName = await fixture.api('POST', '/api/v1/manufacturer-cas', { body: { name: 'twice', pem: makeManufacturerCa('Other CA').certPem } });
        assert.equal(sameName.status, 409);
      });

      it('Should refuse a PEM that is not one readable CA certificate, naming body/pem', async () => {
        const kit = makeManufacturerCa('Leaf Maker');
        const leaf = issueFactoryCertificate(kit, 'fd-leaf', 7);
        const garbled = kit.certPem.replace(/[A-Za-z]{12}/, 'AAAAAAAAAAAA');
        for (const [pem, message] of [
          [leaf.certPem, /not a CA certificate/],
          ['not a certificate', /exactly one PEM certificate \(found 0\)/],
          [`${kit.certPem}${makeManufacturerCa('Second').certPem}`, /found 2/],
          [garbled, /not a readable X\.509 certificate/],
          [kit.keyPem, /found 0/],
        ] as const) {
          const answer = await fixture.api('POST', '/api/v1/manufacturer-cas', { body: { name: `bad-${randomUUID().slice(0, 8)}`, pem } });
          assert.equal(answer.status, 400, pem.slice(0, 40));
          assert.equal(answer.body.code, 'VALIDATION_FAILED');
          assert.deepEqual(errorPaths(answer.body), ['body/pem']);
          assert.match(answer.body.errors[0].message, message);
        }
        const missing = await fixture.api('POST', '/api/v1/manufacturer-cas', { body: { pem: kit.certPem, extra: 1 } });
        assert.deepEqual(errorPaths(missing.body).sort(), ['body/extra', 'body/name']);
      });

      it('Should end the live sessions of the devices it admitted when it is disabled, and refuse to delete it while a group names it', async () => {
        const ca = await registerCa();
        const { body: group } = await createGroup({ manufacturerCaId: ca.id });
        const disabled = await fixture.api('PATCH', `/api/v1/manufacturer-cas/${ca.id}`, { body: { version: ca.version, enabled: false } });
        assert.equal(disabled.status, 200);
        assert.equal(disabled.body.enabled, false);
        assert.deepEqual(notices.at(-1), { kind: 'manufacturer-ca', manufacturerCaId: ca.id, cause: 'disabled' });
        const count = notices.length;
        assert.equal(
          (await fixture.api('PATCH', `/api/v1/manufacturer-cas/${ca.id}`, { body: { version: disabled.body.version, name: 'still-off' } })).status,
          200,
        );
        assert.equal(notices.length, count, 'a change that does not disable it ends nothing');

        const inUse = await fixture.api('DELETE', `/api/v1/manufacturer-cas/${ca.id}`);
        assert.equal(inUse.status, 409);
        assert.match(inUse.body.detail, /1 enrollment group/);
        assert.equal((await fixture.api('DELETE', `/api/v1/enrollment-groups/${group.id}`)).status, 204);
        assert.equal((await fixture.api('DELETE', `/api/v1/manufacturer-cas/${ca.id}`)).status, 204);
      });

      it('Should refuse every manufacturer CA operation to a token bound to an account (403), and leave the CA as it was', async () => {
        const ca = await registerCa();
        const kit = makeManufacturerCa('Account Token CA');
        const calls: [string, string, unknown?][] = [
          ['GET', '/api/v1/manufacturer-cas'],
          ['GET', `/api/v1/manufacturer-cas/${ca.id}`],
          ['POST', '/api/v1/manufacturer-cas', { name: 'from-account', pem: kit.certPem }],
          ['PATCH', `/api/v1/manufacturer-cas/${ca.id}`, { version: ca.version, enabled: false }],
          ['DELETE', `/api/v1/manufacturer-cas/${ca.id}`],
          ['GET', `/api/v1/manufacturer-cas/${ca.id}/blocked-certificates`],
          ['POST', `/api/v1/manufacturer-cas/${ca.id}/blocked-certificates`, { serial: '01', reason: 'stolen' }],
          ['DELETE', `/api/v1/manufacturer-cas/${ca.id}/blocked-certificates/01`],
        ];
        for (const [method, path, body] of calls) {
          const answer = await fixture.api(method, path, { token: accountToken, ...(body === undefined ? {} : { body }) });
          assert.equal(answer.status, 403, `${method} ${path}: ${JSON.stringify(answer.body)}`);
        }
        assert.deepEqual((await fixture.api('GET', `/api/v1/manufacturer-cas/${ca.id}`)).body, ca);
        assert.equal((await fixture.api('GET', `/api/v1/manufacturer-cas/${ca.id}/blocked-certificates`)).body.total, 0);
      });
    });

    describe('blocked factory certificates', () => {
      it("Should block a serial in the platform's form, end the session its certificate opened, list and unblock it", async () => {
        const ca = await registerCa();
        const blocked = await fixture.api('POST', `/api/v1/manufacturer-cas/${ca.id}/blocked-certificates`, {
          body: { serial: '00:10:01', reason: 'reported stolen' },
        });
        assert.equal(blocked.status, 201, JSON.stringify(blocked.body));
        conforms('FactoryCertificateBlock', blocked.body);
        assert.equal(blocked.body.serial, '1001');
        assert.equal(blocked.body.manufacturerCaId, ca.id);
        assert.equal(blocked.body.reason, 'reported stolen');
        assert.equal(blocked.body.blockedBy, 'admin');
        assert.deepEqual(notices.at(-1), { kind: 'factory-certificate', manufacturerCaId: ca.id, serial: '1001', cause: 'blocked' });
        assert.deepEqual(await fixture.store.getFactoryCertificateBlock(ca.id, '1001'), { ...blocked.body, blockedOn: Date.parse(blocked.body.blockedOn) });

        const again = await fixture.api('POST', `/api/v1/manufacturer-cas/${ca.id}/blocked-certificates`, { body: { serial: '1001', reason: 'twice' } });
        assert.equal(again.status, 409);
        const odd = await fixture.api('POST', `/api/v1/manufacturer-cas/${ca.id}/blocked-certificates`, { body: { serial: 'ABC', reason: 'odd length' } });
        assert.equal(odd.body.serial, '0abc', 'a whole first byte, as a certificate reader prints it');

        const list = await fixture.api('GET', `/api/v1/manufacturer-cas/${ca.id}/blocked-certificates`);
        assert.equal(list.status, 200);
        conforms('FactoryCertificateBlockPage', list.body);
        assert.deepEqual(
          list.body.items.map((block: { serial: string }) => block.serial),
          ['0abc', '1001'],
          'newest first',
        );

        assert.equal((await fixture.api('DELETE', `/api/v1/manufacturer-cas/${ca.id}/blocked-certificates/0A:BC`)).status, 204);
        assert.equal((await fixture.api('DELETE', `/api/v1/manufacturer-cas/${ca.id}/blocked-certificates/0abc`)).status, 404);
        assert.equal((await fixture.api('GET', `/api/v1/manufacturer-cas/${ca.id}/blocked-certificates`)).body.total, 1);
        const audited = (await auditEvents('factory-certificate.blocked')).filter((event) => event.detail['manufacturerCaId'] === ca.id);
        assert.deepEqual(audited.map((event) => event.detail['serial']).sort(), ['0abc', '1001']);
        assert.equal((await auditEvents('factory-certificate.unblocked')).filter((event) => event.detail['manufacturerCaId'] === ca.id).length, 1);
      });

      it('Should refuse a serial that is not hex and a block on an unknown CA', async () => {
        const ca = await registerCa();
        for (const serial of ['', 'xyz', '10 01', '0x1001', ':10', '1'.repeat(129)]) {
          const answer = await fixture.api('POST', `/api/v1/manufacturer-cas/${ca.id}/blocked-certificates`, { body: { serial, reason: 'r' } });
          assert.equal(answer.status, 400, serial);
          assert.deepEqual(errorPaths(answer.body), ['body/serial'], serial);
        }
        const noReason = await fixture.api('POST', `/api/v1/manufacturer-cas/${ca.id}/blocked-certificates`, { body: { serial: '01' } });
        assert.deepEqual(errorPaths(noReason.body), ['body/reason']);
        assert.equal(
          (await fixture.api('POST', '/api/v1/manufacturer-cas/no-such-ca/blocked-certificates', { body: { serial: '01', reason: 'r' } })).status,
          404,
        );
        assert.equal((await fixture.api('DELETE', `/api/v1/manufacturer-cas/${ca.id}/blocked-certificates/not-hex`)).status, 400);
      });
    });

    describe('enrollment groups', () => {
      it('Should create a group with defaults, lists sorted and serials in the platform form, read, list, change and delete it', async () => {
        const ca = await registerCa();
        const created = await createGroup({
          name: 'meters-2026',
          manufacturerCaId: ca.id,
          tags: ['roof', 'north', 'roof'],
          allowSerials: ['00:10:01', 'ABC', '1001'],
          denyClientIds: ['fd-9', 'fd-1'],
          validFrom: '2026-01-01T00:00:00Z',
          validUntil: '2027-01-01T00:00:00.000Z',
          provisionBrokerUrl: 'mqtts://provision.example.com:8883',
        });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        conforms('EnrollmentGroup', created.body);
        const { id, createdOn, modifiedOn, ...fields } = created.body;
        assert.ok(id && createdOn && modifiedOn);
        assert.deepEqual(fields, {
          accountId,
          name: 'meters-2026',
          manufacturerCaId: ca.id,
          category: null,
          configurationId: null,
          bundleIds: [],
          tags: ['north', 'roof'],
          allowSerials: ['0abc', '1001'],
          allowClientIds: [],
          denySerials: [],
          denyClientIds: ['fd-1', 'fd-9'],
          validFrom: '2026-01-01T00:00:00.000Z',
          validUntil: '2027-01-01T00:00:00.000Z',
          reprovisionAllowed: false,
          provisionBrokerUrl: 'mqtts://provision.example.com:8883',
          enabled: true,
          version: 1,
        });
        const stored = await fixture.store.getEnrollmentGroup(id);
        assert.equal(stored?.validFrom, Date.parse('2026-01-01T00:00:00Z'));
        assert.deepEqual((await fixture.api('GET', `/api/v1/enrollment-groups/${id}`)).body, created.body);

        const count = notices.length;
        const changed = await fixture.api('PATCH', `/api/v1/enrollment-groups/${id}`, {
          body: { version: 1, reprovisionAllowed: true, validUntil: null, denySerials: ['FF'], provisionBrokerUrl: null },
        });
        assert.equal(changed.status, 200, JSON.stringify(changed.body));
        assert.equal(changed.body.reprovisionAllowed, true);
        assert.equal(changed.body.validUntil, null);
        assert.equal(changed.body.validFrom, '2026-01-01T00:00:00.000Z');
        assert.deepEqual(changed.body.denySerials, ['ff']);
        assert.equal(changed.body.provisionBrokerUrl, null);
        assert.equal(changed.body.version, 2);
        assert.equal(notices.length, count, 'enabled stays: no session ends');

        const stale = await fixture.api('PATCH', `/api/v1/enrollment-groups/${id}`, { body: { version: 1, enabled: false } });
        assert.equal(stale.status, 409);
        const moved = await fixture.api('PATCH', `/api/v1/enrollment-groups/${id}`, { body: { version: 2, manufacturerCaId: ca.id } });
        assert.deepEqual(errorPaths(moved.body), ['body/manufacturerCaId'], 'the CA never changes');

        const disabled = await fixture.api('PATCH', `/api/v1/enrollment-groups/${id}`, { body: { version: 2, enabled: false } });
        assert.equal(disabled.status, 200);
        assert.deepEqual(notices.at(-1), { kind: 'enrollment-group', enrollmentGroupId: id, cause: 'disabled' });

        assert.equal((await fixture.api('DELETE', `/api/v1/enrollment-groups/${id}`)).status, 204);
        assert.deepEqual(notices.at(-1), { kind: 'enrollment-group', enrollmentGroupId: id, cause: 'deleted' });
        assert.equal((await fixture.api('GET', `/api/v1/enrollment-groups/${id}`)).status, 404);
        assert.equal((await fixture.api('DELETE', `/api/v1/enrollment-groups/${id}`)).status, 404);
        const types = async (type: string) => (await auditEvents(type)).filter((event) => event.detail['enrollmentGroupId'] === id).length;
        assert.deepEqual(
          [await types('enrollment-group.created'), await types('enrollment-group.updated'), await types('enrollment-group.deleted')],
          [1, 2, 1],
        );
      });

      it('Should check every record the group names, in its account, naming each bad field at once', async () => {
        const ca = await registerCa();
        const theirConfiguration = (await fixture.api('POST', '/api/v1/configurations', { body: { accountId: otherAccountId, name: 'theirs', content: {} } }))
          .body.id;
        await fixture.api('POST', '/api/v1/categories', { body: { accountId: otherAccountId, name: 'their-category' } });
        const theirBundle = await uploadBundle(otherAccountId);
        const foreign = await createGroup({
          manufacturerCaId: 'no-such-ca',
          category: 'their-category',
          configurationId: theirConfiguration,
          bundleIds: [theirBundle],
        });
        assert.equal(foreign.status, 400);
        assert.deepEqual(errorPaths(foreign.body).sort(), ['body/bundleIds/0', 'body/category', 'body/configurationId', 'body/manufacturerCaId']);
        assert.deepEqual(errorPaths((await createGroup({ accountId: 'no-such-account', manufacturerCaId: ca.id })).body), ['body/accountId']);

        await fixture.api('POST', '/api/v1/categories', { body: { accountId, name: 'meters' } });
        const ourConfiguration = (await fixture.api('POST', '/api/v1/configurations', { body: { accountId, name: 'ours', content: {} } })).body.id;
        const ourBundle = await uploadBundle(accountId);
        const own = await createGroup({ manufacturerCaId: ca.id, category: 'meters', configurationId: ourConfiguration, bundleIds: [ourBundle] });
        assert.equal(own.status, 201, JSON.stringify(own.body));
        assert.equal(own.body.category, 'meters');
        const patched = await fixture.api('PATCH', `/api/v1/enrollment-groups/${own.body.id}`, {
          body: { version: 1, category: 'their-category', configurationId: theirConfiguration },
        });
        assert.deepEqual(errorPaths(patched.body).sort(), ['body/category', 'body/configurationId']);
        const inUse = await fixture.api('DELETE', `/api/v1/categories/${(await fixture.store.getCategoryByName(accountId, 'meters'))!.id}`);
        assert.equal(inUse.status, 409, 'a category a group names is not deleted');
        assert.match(inUse.body.detail, /1 enrollment group/);
      });

      it('Should refuse bad values, naming the field', async () => {
        const ca = await registerCa();
        for (const [body, path] of [
          [{ validFrom: '2027-01-01T00:00:00Z', validUntil: '2026-01-01T00:00:00Z' }, 'body/validUntil'],
          [{ validFrom: '2026-01-01T00:00:00Z', validUntil: '2026-01-01T00:00:00Z' }, 'body/validUntil'],
          [{ validFrom: 'tomorrow' }, 'body/validFrom'],
          [{ provisionBrokerUrl: 'https://provision.example.com' }, 'body/provisionBrokerUrl'],
          [{ allowSerials: ['not-hex'] }, 'body/allowSerials/0'],
          [{ denyClientIds: ['$bad'] }, 'body/denyClientIds/0'],
          [{ tags: ['line\nbreak'] }, 'body/tags/0'],
          [{ name: '' }, 'body/name'],
          [{ reprovisionAllowed: 'yes' }, 'body/reprovisionAllowed'],
          [{ accountId: undefined }, 'body/accountId'],
        ] as const) {
          const answer = await createGroup({ manufacturerCaId: ca.id, ...body });
          assert.equal(answer.status, 400, JSON.stringify(body));
          assert.deepEqual(errorPaths(answer.body), [path], JSON.stringify(body));
        }
        const { body: group } = await createGroup({ manufacturerCaId: ca.id, validFrom: '2026-06-01T00:00:00Z' });
        const before = await fixture.api('PATCH', `/api/v1/enrollment-groups/${group.id}`, { body: { version: 1, validUntil: '2026-05-01T00:00:00Z' } });
        assert.deepEqual(errorPaths(before.body), ['body/validUntil'], "checked against the group's validFrom");
        assert.equal((await fixture.api('PATCH', `/api/v1/enrollment-groups/${group.id}`, { body: { version: 1 } })).status, 400);
        assert.equal((await createGroup({ manufacturerCaId: ca.id, name: group.name })).status, 409, 'the name is unique in the account');
        assert.equal((await createGroup({ manufacturerCaId: ca.id, name: group.name, accountId: otherAccountId })).status, 201);
      });

      it('Should list by account and by manufacturer CA, oldest first, as JSON or CSV', async () => {
        const [first, second] = [await registerCa(), await registerCa()];
        const a = (await createGroup({ manufacturerCaId: first.id })).body;
        const b = (await createGroup({ manufacturerCaId: second.id })).body;
        const c = (await createGroup({ manufacturerCaId: first.id, accountId: otherAccountId })).body;
        const ids = async (query: string) =>
          (await fixture.api('GET', `/api/v1/enrollment-groups?${query}&limit=1000`)).body.items.map((group: { id: string }) => group.id) as string[];
        assert.deepEqual(await ids(`manufacturerCaId=${first.id}`), [a.id, c.id]);
        assert.deepEqual(await ids(`manufacturerCaId=${first.id}&accountId=${accountId}`), [a.id]);
        const ofAccount = await ids(`accountId=${accountId}`);
        assert.ok(ofAccount.includes(a.id) && ofAccount.includes(b.id) && !ofAccount.includes(c.id));
        assert.ok(ofAccount.indexOf(a.id) < ofAccount.indexOf(b.id));
        const page = await fixture.api('GET', `/api/v1/enrollment-groups?manufacturerCaId=${second.id}`);
        conforms('EnrollmentGroupPage', page.body);

        const csv = await fixture.api('GET', `/api/v1/enrollment-groups?manufacturerCaId=${first.id}`, { headers: { accept: 'text/csv' } });
        assert.equal(csv.status, 200);
        assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
        const lines = (csv.body as string).trim().split('\n');
        assert.match(lines[0]!, /^id,accountId,name,manufacturerCaId,category,/);
        assert.equal(lines.length, 3);
        assert.ok(lines[1]!.startsWith(`${a.id},`) && lines[2]!.startsWith(`${c.id},`));
      });

      it("Should let an account token see and change only its own account's groups", async () => {
        const ca = await registerCa();
        const own = await createGroup({ manufacturerCaId: ca.id }, accountToken);
        assert.equal(own.status, 201);
        const theirs = await createGroup({ manufacturerCaId: ca.id, accountId: otherAccountId });
        assert.equal(theirs.status, 201);
        assert.equal((await createGroup({ manufacturerCaId: ca.id, accountId: otherAccountId }, accountToken)).status, 403);

        assert.equal((await fixture.api('GET', `/api/v1/enrollment-groups/${own.body.id}`, { token: accountToken })).status, 200);
        assert.equal((await fixture.api('GET', `/api/v1/enrollment-groups/${theirs.body.id}`, { token: accountToken })).status, 404);
        const patch = { body: { version: 1, enabled: false }, token: accountToken };
        assert.equal((await fixture.api('PATCH', `/api/v1/enrollment-groups/${theirs.body.id}`, patch)).status, 404);
        assert.equal((await fixture.api('DELETE', `/api/v1/enrollment-groups/${theirs.body.id}`, { token: accountToken })).status, 404);
        assert.deepEqual((await fixture.api('GET', `/api/v1/enrollment-groups/${theirs.body.id}`)).body, theirs.body, 'untouched');

        const list = await fixture.api('GET', `/api/v1/enrollment-groups?manufacturerCaId=${ca.id}`, { token: accountToken });
        assert.equal(list.status, 200);
        assert.deepEqual(
          list.body.items.map((group: { id: string }) => group.id),
          [own.body.id],
        );
        assert.equal((await fixture.api('GET', `/api/v1/enrollment-groups?accountId=${otherAccountId}`, { token: accountToken })).status, 403);
        assert.equal((await fixture.api('DELETE', `/api/v1/enrollment-groups/${own.body.id}`, { token: accountToken })).status, 204);
      });
    });

    describe('device assignments', () => {
      it('Should assign a device to a group or a broker, read, list, replace and remove the assignment', async () => {
        const ca = await registerCa();
        const { body: group } = await createGroup({ manufacturerCaId: ca.id, accountId: otherAccountId });
        const put = await fixture.api('PUT', '/api/v1/device-assignments/fd-0001', { body: { enrollmentGroupId: group.id } });
        assert.equal(put.status, 200, JSON.stringify(put.body));
        conforms('DeviceAssignment', put.body);
        assert.equal(put.body.clientId, 'fd-0001');
        assert.equal(put.body.enrollmentGroupId, group.id);
        assert.equal(put.body.provisionBrokerUrl, null);
        assert.equal(put.body.modifiedBy, 'admin');
        assert.deepEqual((await fixture.api('GET', '/api/v1/device-assignments/fd-0001')).body, put.body);

        const replaced = await fixture.api('PUT', '/api/v1/device-assignments/fd-0001', { body: { provisionBrokerUrl: 'mqtts://elsewhere.example.com:8883' } });
        assert.equal(replaced.status, 200);
        assert.equal(replaced.body.enrollmentGroupId, null, 'a field left out is null');
        assert.equal(replaced.body.provisionBrokerUrl, 'mqtts://elsewhere.example.com:8883');
        await fixture.api('PUT', '/api/v1/device-assignments/fd-0002', { body: { enrollmentGroupId: group.id, provisionBrokerUrl: null } });

        const list = await fixture.api('GET', '/api/v1/device-assignments');
        assert.equal(list.status, 200);
        conforms('DeviceAssignmentPage', list.body);
        assert.deepEqual(
          list.body.items.map((assignment: { clientId: string }) => assignment.clientId).filter((clientId: string) => clientId.startsWith('fd-000')),
          ['fd-0001', 'fd-0002'],
        );

        assert.equal((await fixture.api('DELETE', '/api/v1/device-assignments/fd-0001')).status, 204);
        assert.equal((await fixture.api('GET', '/api/v1/device-assignments/fd-0001')).status, 404);
        assert.equal((await fixture.api('DELETE', '/api/v1/device-assignments/fd-0001')).status, 404);
        const changed = (await auditEvents('device-assignment.changed')).filter((event) => event.detail['enrollmentGroupId'] === group.id);
        assert.equal(changed.length, 2);
        assert.equal(changed[0]!.accountId, otherAccountId, "the audit event is in the assigned group's account");
        assert.equal((await auditEvents('device-assignment.deleted')).length >= 1, true);
      });

      it('Should refuse an unknown group, an empty assignment, a bad clientId or URL, and any account token', async () => {
        const unknown = await fixture.api('PUT', '/api/v1/device-assignments/fd-x', { body: { enrollmentGroupId: 'no-such-group' } });
        assert.equal(unknown.status, 400);
        assert.deepEqual(errorPaths(unknown.body), ['body/enrollmentGroupId']);
        const empty = await fixture.api('PUT', '/api/v1/device-assignments/fd-x', { body: {} });
        assert.equal(empty.status, 400);
        assert.deepEqual(errorPaths(empty.body), ['body']);
        const badUrl = await fixture.api('PUT', '/api/v1/device-assignments/fd-x', { body: { provisionBrokerUrl: 'http://x' } });
        assert.deepEqual(errorPaths(badUrl.body), ['body/provisionBrokerUrl']);
        const badClientId = await fixture.api('PUT', `/api/v1/device-assignments/${encodeURIComponent('$SYS')}`, {
          body: { provisionBrokerUrl: 'mqtts://x:1' },
        });
        assert.equal(badClientId.status, 400);
        assert.deepEqual(errorPaths(badClientId.body), ['path/clientId']);
        assert.equal(await fixture.store.getDeviceAssignment('fd-x'), null);

        await fixture.api('PUT', '/api/v1/device-assignments/fd-token', { body: { provisionBrokerUrl: 'mqtts://x:1' } });
        for (const [method, path, body] of [
          ['GET', '/api/v1/device-assignments'],
          ['GET', '/api/v1/device-assignments/fd-token'],
          ['PUT', '/api/v1/device-assignments/fd-token', { provisionBrokerUrl: 'mqtts://y:1' }],
          ['DELETE', '/api/v1/device-assignments/fd-token'],
        ] as const) {
          const answer = await fixture.api(method, path, { token: accountToken, ...(body ? { body } : {}) });
          assert.equal(answer.status, 403, `${method} ${path}`);
        }
        assert.equal((await fixture.store.getDeviceAssignment('fd-token'))?.provisionBrokerUrl, 'mqtts://x:1');
      });
    });
  });
}
