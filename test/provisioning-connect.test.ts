import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProvisionResult } from '../protocol/messages.ts';
import { listenForReplies, requestProvisioning } from './support/device-exchange.ts';
import { connackOf, createAccountAndRequest, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';

describe('provision broker: who may connect', () => {
  let fixture: TestPlatform;
  before(async () => {
    fixture = await startTestPlatform({ authFailureLimit: 1000 });
  });
  after(() => fixture.close());

  it('accepts a device whose ENABLED request matches clientId, username and password, over TLS', async () => {
    const request = await createAccountAndRequest(fixture, 'conn-ok');
    const client = await fixture.connectProvision({ clientId: request.clientId, username: request.username, password: request.password });
    assert.ok(client.connected);
    await client.endAsync();
  });

  it('Should not tell an unknown clientId from a wrong password: both get CONNACK 4', async () => {
    const request = await createAccountAndRequest(fixture, 'conn-known');
    const unknown = await connackOf(fixture.connectProvision({ clientId: 'conn-unknown', username: 'conn-unknown', password: 'whatever-password' }));
    const wrongPassword = await connackOf(fixture.connectProvision({ clientId: request.clientId, username: request.username, password: 'wrong' }));
    const wrongUser = await connackOf(fixture.connectProvision({ clientId: request.clientId, username: 'someone-else', password: request.password }));
    const noPassword = await connackOf(fixture.connectProvision({ clientId: request.clientId }));
    assert.deepEqual([unknown, wrongPassword, wrongUser, noPassword], [4, 4, 4, 4]);
  });

  it('Should refuse an expired request with CONNACK 5 when the password is right, and CONNACK 4 when it is not', async () => {
    const expired = await createAccountAndRequest(fixture, 'conn-expired');
    const stored = await fixture.platform.store.getProvisionRequest(expired.id);
    await fixture.platform.store.updateProvisionRequest(expired.id, stored!.version, { expiresOn: Date.now() - 1000, modifiedBy: 'test' });
    assert.equal(await connackOf(fixture.connectProvision({ clientId: expired.clientId, username: expired.username, password: expired.password })), 5);
    assert.equal(await connackOf(fixture.connectProvision({ clientId: expired.clientId, username: expired.username, password: 'wrong' })), 4);
    assert.match(fixture.logText(), /request expired/);
  });

  it('accepts a request not active yet; its provision message is answered 403 REQUEST_NOT_ACTIVE with retry.after.seconds', async () => {
    const future = await createAccountAndRequest(fixture, 'conn-future', {
      extra: { activatesOn: new Date(Date.now() + 3_600_000).toISOString() },
    });
    const client = await fixture.connectProvision({ clientId: future.clientId, username: future.username, password: future.password });
    try {
      const replyTo = await listenForReplies(client, future.clientId);
      await requestProvisioning(client, future.clientId, 'early-1');
      const reply = await replyTo('early-1');
      assert.equal(reply.responseCode, 403);
      assert.match(reply.message ?? '', /REQUEST_NOT_ACTIVE/);
      assert.ok(
        reply.retryAfterSeconds !== undefined && reply.retryAfterSeconds > 3_500 && reply.retryAfterSeconds <= 3_600,
        `retry.after.seconds ${reply.retryAfterSeconds}`,
      );
    } finally {
      await client.endAsync();
    }
  });

  it('accepts a request out of attempts while it is ENABLED: the last attempt again gets its certificate, a new one 409, and then it is disabled (CONNACK 4)', async () => {
    const request = await createAccountAndRequest(fixture, 'conn-attempts', { extra: { retryMaxAttempts: 1 } });
    const credentials = { clientId: request.clientId, username: request.username, password: request.password };
    const first = await fixture.connectProvision(credentials);
    let certificate: string;
    try {
      const replyTo = await listenForReplies(first, request.clientId);
      await requestProvisioning(first, request.clientId, 'last-1');
      const reply = await replyTo('last-1');
      assert.equal(reply.responseCode, 200);
      certificate = decodeProvisionResult(reply.body!).certificates.client;
    } finally {
      await first.endAsync();
    }
    const stored = await fixture.platform.store.getProvisionRequest(request.id);
    assert.equal(stored!.retryCount, stored!.retryMaxAttempts);

    const again = await fixture.connectProvision(credentials); // CONNACK 0, no longer 5
    try {
      const replyTo = await listenForReplies(again, request.clientId);
      await requestProvisioning(again, request.clientId, 'last-1');
      assert.equal(decodeProvisionResult((await replyTo('last-1')).body!).certificates.client, certificate);
      await requestProvisioning(again, request.clientId, 'last-2');
      const refused = await replyTo('last-2');
      assert.equal(refused.responseCode, 409);
      assert.match(refused.message ?? '', /RETRIES_EXHAUSTED/);
    } finally {
      await again.endAsync();
    }
    assert.equal((await fixture.platform.store.getProvisionRequest(request.id))!.status, 'DISABLED');
    assert.equal(await connackOf(fixture.connectProvision(credentials)), 4);
  });

  it('Should refuse a disabled request like an unknown one', async () => {
    const request = await createAccountAndRequest(fixture, 'conn-disabled');
    assert.equal((await fixture.api('POST', `/provision-requests/${request.id}/disable`)).status, 200);
    assert.equal(await connackOf(fixture.connectProvision({ clientId: request.clientId, username: request.username, password: request.password })), 4);
  });

  for (const clientId of ['', 'a/b', 'dev+1', 'dev#', '$SYS', 'tab\tid', 'x'.repeat(129)]) {
    it(`Should refuse the clientId ${JSON.stringify(clientId.slice(0, 12))} with CONNACK 2`, async () => {
      assert.equal(await connackOf(fixture.connectProvision({ clientId, username: 'u', password: 'p', clean: true })), 2);
    });
  }

  it('writes an audit event for every refused CONNECT, without the password', async () => {
    await connackOf(fixture.connectProvision({ clientId: 'conn-audited', username: 'u', password: 'secret-never-logged-1' }));
    const events = await fixture.api<{ items: { type: string; detail: unknown }[] }>('GET', '/audit-events?clientId=conn-audited');
    assert.ok(events.body.items.some((event) => event.type === 'connect.refused'));
    assert.ok(!JSON.stringify(events.body).includes('secret-never-logged-1'));
    assert.ok(!fixture.logText().includes('secret-never-logged-1'));
  });

  it('serves TLS-only mode with no plain listener', async () => {
    const tlsOnly = await startTestPlatform({ provisionMqttEnabled: false });
    try {
      assert.equal(tlsOnly.platform.provisionBroker.mqttPort, null);
      assert.ok(!('provision broker (TCP)' in tlsOnly.platform.endpoints));
    } finally {
      await tlsOnly.close();
    }
  });
});
