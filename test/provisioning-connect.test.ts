import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
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

  it('Should refuse an expired request and one not active yet with CONNACK 5', async () => {
    const expired = await createAccountAndRequest(fixture, 'conn-expired');
    const stored = await fixture.platform.store.getProvisionRequest(expired.id);
    await fixture.platform.store.updateProvisionRequest(expired.id, stored!.version, { expiresOn: Date.now() - 1000, modifiedBy: 'test' });
    assert.equal(await connackOf(fixture.connectProvision({ clientId: expired.clientId, username: expired.username, password: expired.password })), 5);

    const future = await createAccountAndRequest(fixture, 'conn-future', {
      extra: { activatesOn: new Date(Date.now() + 3_600_000).toISOString() },
    });
    assert.equal(await connackOf(fixture.connectProvision({ clientId: future.clientId, username: future.username, password: future.password })), 5);
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

describe('provision broker: brute force', () => {
  it('locks a clientId out after the failure limit, and lets the device in once the lock-out ends', async () => {
    const fixture = await startTestPlatform({ authFailureLimit: 3, authLockoutSeconds: 1 });
    try {
      const request = await createAccountAndRequest(fixture, 'brute-1');
      for (let i = 0; i < 3; i += 1) {
        assert.equal(await connackOf(fixture.connectProvision({ clientId: request.clientId, username: request.username, password: `guess-${i}` })), 4);
      }
      // Locked: even the right password is refused, with CONNACK 5.
      assert.equal(await connackOf(fixture.connectProvision({ clientId: request.clientId, username: request.username, password: request.password })), 5);
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      assert.equal(await connackOf(fixture.connectProvision({ clientId: request.clientId, username: request.username, password: request.password })), 0);
    } finally {
      await fixture.close();
    }
  });
});
