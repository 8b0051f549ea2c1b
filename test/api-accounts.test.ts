import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApiFixture, type ApiFixture } from './support/api-fixture.ts';

describe('Admin API: accounts', () => {
  let fixture: ApiFixture;
  before(async () => {
    fixture = await startApiFixture();
  });
  after(async () => {
    await fixture.close();
  });

  it('Should create an account with defaults and answer it with version 1', async () => {
    const { status, body } = await fixture.api('POST', '/api/v1/accounts', { body: { name: 'acme' } });
    assert.equal(status, 201);
    assert.equal(body.name, 'acme');
    assert.equal(body.brokerUrl, null);
    assert.deepEqual(body.configurationTemplate, {});
    assert.deepEqual(body.defaultBundleIds, []);
    assert.equal(body.version, 1);
    assert.ok(!Number.isNaN(Date.parse(body.createdOn)));
  });

  it('Should accept an mqtts:// broker URL and a configuration template', async () => {
    const { status, body } = await fixture.api('POST', '/api/v1/accounts', {
      body: { name: 'fleet_2', brokerUrl: 'mqtts://broker.example.com:8883', configurationTemplate: { broker: '${brokerUrl}' } },
    });
    assert.equal(status, 201);
    assert.equal(body.brokerUrl, 'mqtts://broker.example.com:8883');
    assert.deepEqual(body.configurationTemplate, { broker: '${brokerUrl}' });
  });

  it('Should refuse a second account with the same name: 409 DUPLICATE', async () => {
    await fixture.api('POST', '/api/v1/accounts', { body: { name: 'twice' } });
    const { status, body } = await fixture.api('POST', '/api/v1/accounts', { body: { name: 'twice' } });
    assert.equal(status, 409);
    assert.equal(body.code, 'DUPLICATE');
  });

  it('Should refuse invalid names and broker URLs that are not mqtt:// or mqtts://', async () => {
    for (const body of [
      { name: 'has space' },
      { name: 'a/b' },
      { name: 'x'.repeat(65) },
      { name: '' },
      { name: 'ok', brokerUrl: 'http://example.com' },
      { name: 'ok', brokerUrl: 'mqtt://host:99999' },
      { name: 'ok', configurationTemplate: [] },
    ]) {
      const answer = await fixture.api('POST', '/api/v1/accounts', { body });
      assert.equal(answer.status, 400, JSON.stringify(body));
      assert.equal(answer.body.code, 'VALIDATION_FAILED');
      assert.ok(answer.body.errors.length > 0);
    }
  });

  it('Should refuse default bundles that the account does not own', async () => {
    const { status, body } = await fixture.api('POST', '/api/v1/accounts', { body: { name: 'bundled', defaultBundleIds: ['nope'] } });
    assert.equal(status, 400);
    assert.equal(body.errors[0].path, 'body/defaultBundleIds/0');
  });

  it('Should list accounts as { items, total, offset, limit } and page through them', async () => {
    const all = await fixture.api('GET', '/api/v1/accounts');
    assert.equal(all.status, 200);
    assert.equal(all.body.offset, 0);
    assert.equal(all.body.limit, 50);
    assert.equal(all.body.items.length, all.body.total);
    const second = await fixture.api('GET', '/api/v1/accounts?offset=1&limit=1');
    assert.equal(second.body.items.length, 1);
    assert.equal(second.body.items[0].id, all.body.items[1].id);
    assert.equal((await fixture.api('GET', '/api/v1/accounts?limit=1001')).status, 400);
  });

  it('Should get one account, and answer 404 for an unknown id', async () => {
    const created = await fixture.api('POST', '/api/v1/accounts', { body: { name: 'getme' } });
    const { status, body } = await fixture.api('GET', `/api/v1/accounts/${created.body.id}`);
    assert.equal(status, 200);
    assert.deepEqual(body, created.body);
    const missing = await fixture.api('GET', '/api/v1/accounts/does-not-exist');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'NOT_FOUND');
  });

  it('Should change an account when the version matches, and answer 409 VERSION_CONFLICT when it does not', async () => {
    const created = await fixture.api('POST', '/api/v1/accounts', { body: { name: 'patchme' } });
    const id = created.body.id;
    const changed = await fixture.api('PATCH', `/api/v1/accounts/${id}`, { body: { version: 1, brokerUrl: 'mqtt://10.0.0.1:1883' } });
    assert.equal(changed.status, 200);
    assert.equal(changed.body.brokerUrl, 'mqtt://10.0.0.1:1883');
    assert.equal(changed.body.version, 2);
    const stale = await fixture.api('PATCH', `/api/v1/accounts/${id}`, { body: { version: 1, brokerUrl: null } });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.code, 'VERSION_CONFLICT');
    const noVersion = await fixture.api('PATCH', `/api/v1/accounts/${id}`, { body: { brokerUrl: null } });
    assert.equal(noVersion.status, 400);
    const nothing = await fixture.api('PATCH', `/api/v1/accounts/${id}`, { body: { version: 2 } });
    assert.equal(nothing.status, 400);
  });

  it('Should refuse to delete an account that provision requests refer to', async () => {
    const account = await fixture.api('POST', '/api/v1/accounts', { body: { name: 'in-use' } });
    await fixture.api('POST', '/api/v1/provision-requests', { body: { accountId: account.body.id, clientId: 'in-use-1' } });
    const { status, body } = await fixture.api('DELETE', `/api/v1/accounts/${account.body.id}`);
    assert.equal(status, 409);
    assert.equal(body.code, 'DUPLICATE');
  });

  it('Should delete an unused account, after which it is 404', async () => {
    const account = await fixture.api('POST', '/api/v1/accounts', { body: { name: 'short-lived' } });
    assert.equal((await fixture.api('DELETE', `/api/v1/accounts/${account.body.id}`)).status, 204);
    assert.equal((await fixture.api('GET', `/api/v1/accounts/${account.body.id}`)).status, 404);
    assert.equal((await fixture.api('DELETE', `/api/v1/accounts/${account.body.id}`)).status, 404);
  });

  it('Should write an audit event for each create, update and delete, by the admin', async () => {
    const account = await fixture.api('POST', '/api/v1/accounts', { body: { name: 'audited' } });
    const id = account.body.id;
    await fixture.api('PATCH', `/api/v1/accounts/${id}`, { body: { version: 1, configurationTemplate: { a: 1 } } });
    await fixture.api('DELETE', `/api/v1/accounts/${id}`);
    const { body } = await fixture.api('GET', `/api/v1/audit-events?accountId=${id}`);
    assert.deepEqual(
      body.items.map((event: { type: string }) => event.type),
      ['account.created', 'account.updated', 'account.deleted'],
    );
    assert.ok(body.items.every((event: { actor: string }) => event.actor === 'admin'));
  });
});

describe("Admin API: an account's configurations and certificates", () => {
  let fixture: ApiFixture;
  let accountId: string;
  const crlPem = '-----BEGIN X509 CRL-----\nMIIBtest\n-----END X509 CRL-----\n';

  before(async () => {
    const thisUpdate = Math.floor(Date.now() / 1000) * 1000;
    const crl = { pem: crlPem, der: Buffer.from('MIIBtest', 'base64'), number: 1n, thisUpdate, nextUpdate: thisUpdate + 86_400_000 };
    fixture = await startApiFixture({ crl: async () => crl });
    accountId = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'records' } })).body.id;
  });
  after(async () => {
    await fixture.close();
  });

  it('Should create, list, get and delete configurations', async () => {
    const created = await fixture.api('POST', '/api/v1/configurations', { body: { accountId, name: 'base', content: { interval: 30 } } });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body.content, { interval: 30 });
    const list = await fixture.api('GET', `/api/v1/configurations?accountId=${accountId}`);
    assert.deepEqual(
      list.body.items.map((item: { id: string }) => item.id),
      [created.body.id],
    );
    assert.equal((await fixture.api('GET', '/api/v1/configurations')).status, 400, 'the admin names the account');
    assert.deepEqual((await fixture.api('GET', `/api/v1/configurations/${created.body.id}`)).body, created.body);
    assert.equal((await fixture.api('DELETE', `/api/v1/configurations/${created.body.id}`)).status, 204);
    assert.equal((await fixture.api('GET', `/api/v1/configurations/${created.body.id}`)).status, 404);
    assert.equal((await fixture.api('POST', '/api/v1/configurations', { body: { accountId: 'nope', name: 'x', content: {} } })).status, 400);
  });

  it('Should list certificates, get one by serial and revoke it idempotently', async () => {
    const now = Date.now();
    await fixture.store.recordCertificate({
      serial: '0a1b2c',
      accountId,
      clientId: 'dev-cert',
      provisionRequestId: null,
      pem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
      notBefore: now,
      notAfter: now + 86_400_000,
    });
    const list = await fixture.api('GET', `/api/v1/certificates?accountId=${accountId}&clientId=dev-cert&status=VALID`);
    assert.deepEqual(
      list.body.items.map((item: { serial: string }) => item.serial),
      ['0a1b2c'],
    );
    const one = await fixture.api('GET', '/api/v1/certificates/0A1B2C');
    assert.equal(one.status, 200);
    assert.equal(one.body.status, 'VALID');
    assert.equal(one.body.revokedOn, null);
    assert.deepEqual(
      { renewsSerial: one.body.renewsSerial, renewalRequestId: one.body.renewalRequestId, renewalSettledOn: one.body.renewalSettledOn },
      { renewsSerial: null, renewalRequestId: null, renewalSettledOn: null },
      'a certificate issued at provisioning renews nothing',
    );

    const first = await fixture.api('POST', '/api/v1/certificates/0a1b2c/revoke', { body: { reason: 'keyCompromise' } });
    assert.equal(first.status, 200);
    assert.equal(first.body.status, 'REVOKED');
    const second = await fixture.api('POST', '/api/v1/certificates/0a1b2c/revoke', { body: { reason: 'superseded' } });
    assert.equal(second.status, 200);
    assert.equal(second.body.revokedOn, first.body.revokedOn);
    const audit = await fixture.api('GET', '/api/v1/audit-events?type=certificate.revoked');
    assert.equal(audit.body.total, 1);
    assert.equal((await fixture.api('POST', '/api/v1/certificates/ffff/revoke', { body: { reason: 'x' } })).status, 404);
    assert.equal((await fixture.api('GET', '/api/v1/certificates/not-hex')).status, 400);
  });

  it('Should show what a CERT-V1 renewal renews, the request.id it answered, and when it was settled', async () => {
    const now = Date.now();
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const common = { accountId, clientId: 'dev-renewing', provisionRequestId: null, pem, notBefore: now, notAfter: now + 86_400_000 };
    await fixture.store.recordCertificate({ ...common, serial: '0b0001' });
    await fixture.store.recordCertificate({ ...common, serial: '0b0002', renewsSerial: '0b0001', renewalRequestId: 'renew-1' });
    const renewalOf = async () => {
      const list = await fixture.api('GET', `/api/v1/certificates?accountId=${accountId}&clientId=dev-renewing`);
      assert.equal(list.status, 200);
      const items = list.body.items as { serial: string; renewsSerial: unknown; renewalRequestId: unknown; renewalSettledOn: unknown }[];
      return Object.fromEntries(
        items.map(({ serial, renewsSerial, renewalRequestId, renewalSettledOn }) => [serial, { renewsSerial, renewalRequestId, renewalSettledOn }]),
      );
    };
    assert.deepEqual(await renewalOf(), {
      '0b0001': { renewsSerial: null, renewalRequestId: null, renewalSettledOn: null },
      '0b0002': { renewsSerial: '0b0001', renewalRequestId: 'renew-1', renewalSettledOn: null },
    });

    assert.equal(await fixture.store.settleRenewal('0b0002'), true);
    const settled = await renewalOf();
    const settledOn = Date.parse(String(settled['0b0002']?.renewalSettledOn));
    assert.ok(settledOn >= now - 1000 && settledOn <= Date.now() + 1000, `renewalSettledOn ${settled['0b0002']?.renewalSettledOn} is an ISO time of now`);
    assert.deepEqual(settled['0b0002'], { renewsSerial: '0b0001', renewalRequestId: 'renew-1', renewalSettledOn: new Date(settledOn).toISOString() });
    const one = await fixture.api('GET', '/api/v1/certificates/0b0002');
    assert.equal(one.body.renewalSettledOn, settled['0b0002']?.renewalSettledOn);

    // The OpenAPI document names the three fields, each required and nullable.
    const document = (await fixture.api('GET', '/api/v1/openapi.json', { token: null })).body;
    const schema = document.components.schemas.Certificate as { required: string[]; properties: Record<string, { type?: unknown; description?: string }> };
    for (const field of ['renewsSerial', 'renewalRequestId', 'renewalSettledOn']) {
      assert.ok(schema.required.includes(field), `${field} is required in the Certificate schema`);
      assert.deepEqual(schema.properties[field]?.type, ['string', 'null'], `${field} is a string or null`);
      assert.match(schema.properties[field]?.description ?? '', /CERT-V1/, `${field} is described`);
    }
  });

  it('Should serve the CRL as application/pkix-crl when the server has one', async () => {
    const response = await fetch(`${fixture.baseUrl}/api/v1/crl`, { headers: { authorization: `Bearer ${fixture.adminToken}` } });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/pkix-crl/);
    assert.equal(await response.text(), crlPem);
    const without = await startApiFixture();
    try {
      assert.equal((await without.api('GET', '/api/v1/crl')).status, 404);
    } finally {
      await without.close();
    }
  });
});
