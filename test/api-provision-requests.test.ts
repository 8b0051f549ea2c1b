import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { verifySecret } from '../crypto/secret-hash.ts';
import { startApiFixture, type ApiFixture } from './support/api-fixture.ts';

const dayMs = 24 * 60 * 60 * 1000;

describe('Admin API: provision requests', () => {
  let fixture: ApiFixture;
  let accountId: string;
  let otherAccountId: string;
  const logLines: string[] = [];

  before(async () => {
    const logDestination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logLines.push(chunk.toString('utf8'));
        callback();
      },
    });
    fixture = await startApiFixture({ logDestination, logLevel: 'debug' });
    accountId = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'acme' } })).body.id;
    otherAccountId = (await fixture.api('POST', '/api/v1/accounts', { body: { name: 'globex' } })).body.id;
  });
  after(async () => {
    await fixture.close();
  });

  const create = (body: Record<string, unknown>) => fixture.api('POST', '/api/v1/provision-requests', { body: { accountId, ...body } });

  describe('creating one', () => {
    it('Should apply the defaults and show generated credentials once', async () => {
      const before = Date.now();
      const { status, body } = await create({ clientId: 'dev-defaults' });
      assert.equal(status, 201);
      assert.equal(body.username, 'dev-defaults');
      assert.match(body.credentials.password, /^[A-Za-z0-9]{32}$/);
      assert.equal(body.credentials.activationKey, undefined);
      assert.equal(body.hasActivationKey, false);
      assert.equal(body.status, 'ENABLED');
      assert.equal(body.jobStatus, 'CREATED');
      assert.equal(body.retryMaxAttempts, 5);
      assert.equal(body.retryCount, 0);
      assert.equal(body.createdBy, 'admin');
      const validity = Date.parse(body.expiresOn) - Date.parse(body.activatesOn);
      assert.equal(validity, fixture.config.requestDefaultValidityDays * dayMs);
      assert.ok(Date.parse(body.activatesOn) >= before - 1000);
      assert.equal(body.passwordHash, undefined);
      assert.equal(body.activationKeyHash, undefined);

      const again = await fixture.api('GET', `/api/v1/provision-requests/${body.id}`);
      assert.equal(again.body.credentials, undefined);
    });

    it('Should store the password and activation key only as hashes that verify', async () => {
      const { body } = await create({ clientId: 'dev-hashed', username: 'user-1', password: 'correct horse battery', generateActivationKey: true });
      assert.match(body.credentials.activationKey, /^[A-Za-z0-9]{32}$/);
      assert.equal(body.hasActivationKey, true);
      const stored = await fixture.store.getProvisionRequest(body.id);
      assert.ok(stored);
      assert.notEqual(stored.passwordHash, 'correct horse battery');
      assert.equal(await verifySecret('correct horse battery', stored.passwordHash), true);
      assert.equal(await verifySecret(body.credentials.activationKey, stored.activationKeyHash!), true);
    });

    it('Should take the given validity, attempts, status and attachments', async () => {
      const configuration = await fixture.api('POST', '/api/v1/configurations', { body: { accountId, name: 'base', content: { a: 1 } } });
      const { status, body } = await create({
        clientId: 'dev-given',
        activatesOn: '2030-01-01T00:00:00Z',
        expiresOn: '2030-02-01T00:00:00.000Z',
        retryMaxAttempts: 3,
        status: 'DISABLED',
        configurationId: configuration.body.id,
      });
      assert.equal(status, 201);
      assert.equal(body.activatesOn, '2030-01-01T00:00:00.000Z');
      assert.equal(body.expiresOn, '2030-02-01T00:00:00.000Z');
      assert.equal(body.retryMaxAttempts, 3);
      assert.equal(body.status, 'DISABLED');
      assert.equal(body.configurationId, configuration.body.id);
    });

    it('Should refuse clientIds with MQTT wildcards, separators, control characters or a leading $', async () => {
      for (const clientId of ['a/b', 'a+b', 'a#', '$SYS', 'nul\u0000', 'tab\t', 'x'.repeat(129), '']) {
        const { status, body } = await create({ clientId });
        assert.equal(status, 400, JSON.stringify(clientId));
        assert.equal(body.errors[0].path, 'body/clientId');
      }
      assert.equal((await create({ clientId: 'x'.repeat(128) })).status, 201);
      assert.equal((await create({ clientId: 'a$b-é' })).status, 201);
    });

    it('Should refuse the user name reserved for provisioning codes: no password could ever open such a request', async () => {
      const { status, body } = await create({ clientId: 'reserved-name', username: 'provisioning-code' });
      assert.equal(status, 400);
      assert.equal(body.errors[0].path, 'body/username');
      assert.equal((await create({ clientId: 'reserved-name', username: 'provisioning-codes' })).status, 201);
    });

    it('Should refuse bad values: expiry before activation, -1 attempts, ten bundles, a foreign configuration', async () => {
      const early = await create({ clientId: 'dev-bad-1', activatesOn: '2030-01-02T00:00:00Z', expiresOn: '2030-01-01T00:00:00Z' });
      assert.equal(early.status, 400);
      assert.equal(early.body.errors[0].path, 'body/expiresOn');
      assert.equal((await create({ clientId: 'dev-bad-2', retryMaxAttempts: -1 })).status, 400);
      assert.equal((await create({ clientId: 'dev-bad-3', bundleIds: Array.from({ length: 10 }, (_, i) => `b${i}`) })).status, 400);
      const foreign = await fixture.api('POST', '/api/v1/configurations', { body: { accountId: otherAccountId, name: 'theirs', content: {} } });
      const attached = await create({ clientId: 'dev-bad-4', configurationId: foreign.body.id });
      assert.equal(attached.status, 400);
      assert.equal(attached.body.errors[0].path, 'body/configurationId');
      const noAccount = await fixture.api('POST', '/api/v1/provision-requests', { body: { accountId: 'nope', clientId: 'dev-bad-5' } });
      assert.equal(noAccount.status, 400);
      assert.equal(noAccount.body.errors[0].path, 'body/accountId');
      assert.equal((await create({ clientId: 'dev-bad-6', activatesOn: 'tomorrow' })).status, 400);
    });

    it('Should answer 409 DUPLICATE for a clientId the account already has', async () => {
      await create({ clientId: 'dev-dup' });
      const { status, body } = await create({ clientId: 'dev-dup' });
      assert.equal(status, 409);
      assert.equal(body.code, 'DUPLICATE');
    });

    it('Should replace the account request for the clientId when overwriteIfDuplicate is set', async () => {
      const first = await create({ clientId: 'dev-over' });
      const second = await create({ clientId: 'dev-over', overwriteIfDuplicate: true });
      assert.equal(second.status, 201);
      assert.equal((await fixture.api('GET', `/api/v1/provision-requests/${first.body.id}`)).status, 404);
      const list = await fixture.api('GET', `/api/v1/provision-requests?accountId=${accountId}&clientId=dev-over`);
      assert.deepEqual(
        list.body.items.map((item: { id: string }) => item.id),
        [second.body.id],
      );
      const audit = await fixture.api('GET', `/api/v1/audit-events?provisionRequestId=${second.body.id}`);
      assert.equal(audit.body.items[0].detail.replacedRequestId, first.body.id);
    });

    it('Should refuse a clientId ENABLED in another account, or disable that one with overwriteIfDuplicate', async () => {
      const theirs = await fixture.api('POST', '/api/v1/provision-requests', { body: { accountId: otherAccountId, clientId: 'dev-moved' } });
      assert.equal((await create({ clientId: 'dev-moved' })).status, 409);
      const ours = await create({ clientId: 'dev-moved', overwriteIfDuplicate: true });
      assert.equal(ours.status, 201);
      const disabled = await fixture.api('GET', `/api/v1/provision-requests/${theirs.body.id}`);
      assert.equal(disabled.body.status, 'DISABLED');
      assert.equal((await fixture.store.findEnabledProvisionRequest('dev-moved'))?.id, ours.body.id);
    });
  });

  describe('reading, changing and deleting', () => {
    it('Should filter the list by clientId (repeated or comma-separated), status, account and dates', async () => {
      await create({ clientId: 'flt-1' });
      await create({ clientId: 'flt-2', status: 'DISABLED' });
      await create({ clientId: 'flt-3' });
      const ids = (answer: { body: { items: { clientId: string }[] } }) => answer.body.items.map((item) => item.clientId).sort();
      assert.deepEqual(ids(await fixture.api('GET', '/api/v1/provision-requests?clientId=flt-1,flt-2&clientId=flt-3')), ['flt-1', 'flt-2', 'flt-3']);
      assert.deepEqual(ids(await fixture.api('GET', '/api/v1/provision-requests?clientId=flt-1,flt-2,flt-3&status=DISABLED')), ['flt-2']);
      assert.deepEqual(ids(await fixture.api('GET', `/api/v1/provision-requests?clientId=flt-1&accountId=${otherAccountId}`)), []);
      const future = new Date(Date.now() + dayMs).toISOString();
      assert.deepEqual(ids(await fixture.api('GET', `/api/v1/provision-requests?clientId=flt-1&startDate=${future}`)), []);
      assert.deepEqual(ids(await fixture.api('GET', `/api/v1/provision-requests?clientId=flt-1&endDate=${future}`)), ['flt-1']);
      assert.deepEqual(ids(await fixture.api('GET', '/api/v1/provision-requests?clientId=flt-1&jobStatus=CREATED,COMPLETED')), ['flt-1']);
      const paged = await fixture.api('GET', '/api/v1/provision-requests?limit=2&offset=1');
      assert.equal(paged.body.items.length, 2);
      assert.equal(paged.body.offset, 1);
      assert.ok(paged.body.total > 3);
      assert.equal((await fixture.api('GET', '/api/v1/provision-requests?status=MAYBE')).status, 400);
    });

    it('Should change editable fields when the version matches, rehashing a new password', async () => {
      const { body } = await create({ clientId: 'dev-patch' });
      const changed = await fixture.api('PATCH', `/api/v1/provision-requests/${body.id}`, {
        body: { version: body.version, password: 'a brand new password', retryMaxAttempts: 9, expiresOn: '2099-01-01T00:00:00Z' },
      });
      assert.equal(changed.status, 200);
      assert.equal(changed.body.retryMaxAttempts, 9);
      assert.equal(changed.body.expiresOn, '2099-01-01T00:00:00.000Z');
      assert.equal(changed.body.version, body.version + 1);
      const stored = await fixture.store.getProvisionRequest(body.id);
      assert.equal(await verifySecret('a brand new password', stored!.passwordHash), true);
      const stale = await fixture.api('PATCH', `/api/v1/provision-requests/${body.id}`, { body: { version: body.version, retryMaxAttempts: 2 } });
      assert.equal(stale.status, 409);
      assert.equal(stale.body.code, 'VERSION_CONFLICT');
      const notEditable = await fixture.api('PATCH', `/api/v1/provision-requests/${body.id}`, { body: { version: 2, clientId: 'other' } });
      assert.equal(notEditable.status, 400);
    });

    it('Should show the device facts of the last attempt, none before one, and never take them from the operator', async () => {
      const { body } = await create({ clientId: 'dev-facts' });
      const none = { model: null, serial: null, firmware: null };
      assert.deepEqual(body.device, none);
      assert.deepEqual((await fixture.api('GET', `/api/v1/provision-requests/${body.id}`)).body.device, none);
      // What the provisioner records when the device sends device.model, device.serial, device.firmware.
      await fixture.store.updateProvisionRequest(body.id, body.version, {
        modifiedBy: 'provisioner',
        jobStatus: 'STARTED',
        device: { model: 'ReliaGATE 10-12', serial: 'SN-0042', firmware: '5.4.0' },
      });
      const facts = { model: 'ReliaGATE 10-12', serial: 'SN-0042', firmware: '5.4.0' };
      const read = await fixture.api('GET', `/api/v1/provision-requests/${body.id}`);
      assert.equal(read.status, 200);
      assert.deepEqual(read.body.device, facts);
      const listed = await fixture.api('GET', '/api/v1/provision-requests?clientId=dev-facts');
      assert.deepEqual(listed.body.items[0].device, facts);
      const changed = await fixture.api('PATCH', `/api/v1/provision-requests/${body.id}`, { body: { version: read.body.version, retryMaxAttempts: 7 } });
      assert.deepEqual(changed.body.device, facts, 'an operator change keeps them');
      const forged = await fixture.api('PATCH', `/api/v1/provision-requests/${body.id}`, { body: { version: changed.body.version, device: none } });
      assert.equal(forged.status, 400);
      assert.deepEqual((await fixture.api('GET', `/api/v1/provision-requests/${body.id}`)).body.device, facts);
    });

    it('Should disable and enable a request', async () => {
      const { body } = await create({ clientId: 'dev-toggle' });
      const disabled = await fixture.api('POST', `/api/v1/provision-requests/${body.id}/disable`);
      assert.equal(disabled.status, 200);
      assert.equal(disabled.body.status, 'DISABLED');
      const enabled = await fixture.api('POST', `/api/v1/provision-requests/${body.id}/enable`);
      assert.equal(enabled.body.status, 'ENABLED');
      assert.equal((await fixture.api('POST', '/api/v1/provision-requests/missing/enable')).status, 404);
    });

    it('Should delete a request, after which it is 404', async () => {
      const { body } = await create({ clientId: 'dev-delete' });
      assert.equal((await fixture.api('DELETE', `/api/v1/provision-requests/${body.id}`)).status, 204);
      assert.equal((await fixture.api('GET', `/api/v1/provision-requests/${body.id}`)).status, 404);
    });

    it('Should audit every change without ever including a secret', async () => {
      const { body } = await create({ clientId: 'dev-audit', password: 'audit-secret-123', generateActivationKey: true });
      await fixture.api('PATCH', `/api/v1/provision-requests/${body.id}`, { body: { version: 1, password: 'audit-secret-456' } });
      await fixture.api('POST', `/api/v1/provision-requests/${body.id}/disable`);
      await fixture.api('DELETE', `/api/v1/provision-requests/${body.id}`);
      const audit = await fixture.api('GET', '/api/v1/audit-events?clientId=dev-audit');
      assert.deepEqual(
        audit.body.items.map((event: { type: string }) => event.type),
        ['request.created', 'request.updated', 'request.disabled', 'request.deleted'],
      );
      const text = JSON.stringify(audit.body);
      for (const secret of ['audit-secret-123', 'audit-secret-456', body.credentials.activationKey]) assert.ok(!text.includes(secret));
    });
  });

  describe('batches', () => {
    it('Should create a batch and answer every credential as JSON', async () => {
      const requests = Array.from({ length: 20 }, (_, i) => ({ accountId, clientId: `batch-json-${i}`, generateActivationKey: i % 2 === 0 }));
      const { status, body } = await fixture.api('POST', '/api/v1/provision-requests/batch', { body: { requests } });
      assert.equal(status, 201);
      assert.equal(body.created.length, 20);
      assert.deepEqual(body.failed, []);
      assert.equal(body.created[3].clientId, 'batch-json-3');
      assert.equal(typeof body.created[0].credentials.activationKey, 'string');
      assert.equal(body.created[1].credentials.activationKey, undefined);
    });

    it('Should answer the fleet credential file as CSV when asked', async () => {
      const requests = Array.from({ length: 5 }, (_, i) => ({ accountId, clientId: `batch-csv-${i}`, generateActivationKey: true }));
      const response = await fetch(`${fixture.baseUrl}/api/v1/provision-requests/batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/json', accept: 'text/csv' },
        body: JSON.stringify({ requests }),
      });
      assert.equal(response.status, 201);
      assert.match(response.headers.get('content-type') ?? '', /^text\/csv/);
      const [header, ...rows] = (await response.text()).trimEnd().split('\n');
      assert.equal(header, 'clientId,username,password,activationKey');
      assert.equal(rows.length, 5);
      const [clientId, username, password, activationKey] = rows[2]!.split(',');
      assert.equal(clientId, 'batch-csv-2');
      assert.equal(username, 'batch-csv-2');
      const stored = (await fixture.store.listProvisionRequests({ clientIds: ['batch-csv-2'] })).items[0]!;
      assert.equal(await verifySecret(password!, stored.passwordHash), true);
      assert.equal(await verifySecret(activationKey!, stored.activationKeyHash!), true);
    });

    it('Should report items that fail on their own and create the rest', async () => {
      await create({ clientId: 'batch-taken' });
      const requests = [
        { accountId, clientId: 'batch-part-1' },
        { accountId, clientId: 'batch-taken' },
        { accountId: 'no-such-account', clientId: 'batch-part-3' },
      ];
      const { status, body } = await fixture.api('POST', '/api/v1/provision-requests/batch', { body: { requests } });
      assert.equal(status, 200);
      assert.deepEqual(
        body.created.map((item: { clientId: string }) => item.clientId),
        ['batch-part-1'],
      );
      assert.deepEqual(
        body.failed.map((item: { index: number; problem: { code: string } }) => [item.index, item.problem.code]),
        [
          [1, 'DUPLICATE'],
          [2, 'VALIDATION_FAILED'],
        ],
      );
    });

    it('Should replace with overwriteIfDuplicate inside a batch and audit every created item once', async () => {
      const old = await create({ clientId: 'batch-over' });
      const { status, body } = await fixture.api('POST', '/api/v1/provision-requests/batch', {
        body: {
          requests: [
            { accountId, clientId: 'batch-audit-1', generateActivationKey: true },
            { accountId, clientId: 'batch-over', overwriteIfDuplicate: true },
            { accountId, clientId: 'batch-audit-2', status: 'DISABLED' },
          ],
        },
      });
      assert.equal(status, 201);
      assert.deepEqual(
        body.created.map((item: { clientId: string }) => item.clientId),
        ['batch-audit-1', 'batch-over', 'batch-audit-2'],
      );
      assert.equal((await fixture.api('GET', `/api/v1/provision-requests/${old.body.id}`)).status, 404);
      for (const [index, created] of (body.created as { id: string; clientId: string; status: string }[]).entries()) {
        const audit = await fixture.api('GET', `/api/v1/audit-events?provisionRequestId=${created.id}`);
        assert.equal(audit.body.total, 1, `${created.clientId} is audited once`);
        const [event] = audit.body.items;
        assert.equal(event.type, 'request.created');
        assert.equal(event.clientId, created.clientId);
        assert.deepEqual(event.detail, {
          username: created.clientId,
          status: created.status,
          hasActivationKey: index === 0,
          ...(index === 1 ? { replacedRequestId: old.body.id } : {}),
          batch: true,
        });
      }
    });

    it('Should refuse a whole batch naming a clientId twice, or with more than 1,000 items', async () => {
      const twice = await fixture.api('POST', '/api/v1/provision-requests/batch', {
        body: {
          requests: [
            { accountId, clientId: 'twin' },
            { accountId, clientId: 'twin' },
          ],
        },
      });
      assert.equal(twice.status, 400);
      assert.equal(twice.body.errors[0].path, 'body/requests/1/clientId');
      assert.equal((await fixture.store.listProvisionRequests({ clientIds: ['twin'] })).total, 0);
      const tooMany = Array.from({ length: 1001 }, (_, i) => ({ accountId, clientId: `many-${i}` }));
      assert.equal((await fixture.api('POST', '/api/v1/provision-requests/batch', { body: { requests: tooMany } })).status, 400);
      assert.equal((await fixture.api('POST', '/api/v1/provision-requests/batch', { body: { requests: [] } })).status, 400);
    });

    it('Should create 1,000 requests in one batch quickly (hashing runs concurrently)', async () => {
      const requests = Array.from({ length: 1000 }, (_, i) => ({ accountId, clientId: `fleet-${i}` }));
      const started = performance.now();
      const { status, body } = await fixture.api('POST', '/api/v1/provision-requests/batch', { body: { requests } });
      const seconds = (performance.now() - started) / 1000;
      assert.equal(status, 201);
      assert.equal(body.created.length, 1000);
      console.log(`# batch of 1000: ${seconds.toFixed(2)} s, ${Math.round(1000 / seconds)} requests/s`);
      assert.ok(seconds < 5, `took ${seconds} s`);
    });
  });

  it('Should never write a password, activation key or token to the log', async () => {
    const { body } = await create({ clientId: 'dev-logged', password: 'log-me-never-123', generateActivationKey: true });
    await fixture.api('POST', '/api/v1/provision-requests', { body: { accountId, clientId: 'dev-logged-2', password: 'sh0rt#7' } });
    const logs = logLines.join('');
    assert.ok(logs.includes('http request'), 'requests are logged at debug');
    for (const secret of ['log-me-never-123', body.credentials.activationKey, fixture.adminToken, 'sh0rt#7']) {
      assert.ok(!logs.includes(secret), `log contains ${secret}`);
    }
  });
});
