import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Aedes, Client } from 'aedes';
import type { MqttClient } from 'mqtt';
import { runDevice } from '../agent-sim/device-agent.ts';
import type { DeviceState } from '../agent-sim/device-state.ts';
import { connackOf, createAccountAndRequest, startTestPlatform, type CreatedRequest, type TestPlatform } from './support/platform-fixture.ts';
import { onlineSimulatedDevice } from './support/simulated-device.ts';

/**
 * Issue 20 §1 on one process: revoking a certificate, disabling or deleting a provision request,
 * deleting an account, and re-provisioning a device end the live sessions they concern before
 * the API answers (or before the provisioner goes on), and no other session.
 */

interface OnlineDevice {
  readonly request: CreatedRequest;
  readonly state: DeviceState;
  readonly client: MqttClient;
  readonly serial: string;
}

/** Resolves when the client's connection closes; fails after deadlineMs. Attach it before the action. */
function closeOf(client: MqttClient, what: string, deadlineMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: still connected after ${deadlineMs} ms`)), deadlineMs);
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Whether this broker still holds a live connection for the clientId (read right after the API answered). */
function holds(aedes: Aedes, clientId: string): boolean {
  const client = (aedes as unknown as { clients: Record<string, Client | undefined> }).clients[clientId];
  return client !== undefined && !client.closed;
}

/** A PUBLISH the broker acknowledges (PUBACK), QoS 1. */
async function assertStillServed(client: MqttClient, topic: string): Promise<void> {
  assert.ok(client.connected, `${topic}: the client should still be connected`);
  await client.publishAsync(topic, 'still here', { qos: 1 });
}

/** A closed client's PUBLISH: never acknowledged (mqtt.js keeps it for a reconnect that never comes). */
async function assertNotAcknowledged(client: MqttClient, topic: string): Promise<void> {
  const outcome = await Promise.race([
    client.publishAsync(topic, 'after the end', { qos: 1 }).then(
      () => 'acknowledged',
      () => 'refused',
    ),
    new Promise<string>((resolve) => setTimeout(() => resolve('no answer'), 500)),
  ]);
  assert.notEqual(outcome, 'acknowledged');
}

async function onlineDevice(fixture: TestPlatform, clientId: string, account: string): Promise<OnlineDevice> {
  const { request, state, client } = await onlineSimulatedDevice(fixture, clientId, account);
  const serial = (await fixture.platform.store.getDevice(request.accountId, clientId))?.certificateSerial;
  assert.ok(serial);
  return { request, state, client, serial };
}

async function provisioningSession(fixture: TestPlatform, clientId: string, account: string): Promise<{ request: CreatedRequest; client: MqttClient }> {
  const request = await createAccountAndRequest(fixture, clientId, { account });
  const client = await fixture.connectProvision({ clientId, username: request.username, password: request.password });
  return { request, client };
}

const accountTopic = (account: string, clientId: string): string => `${account}/${clientId}/telemetry`;
const provisionTopic = (clientId: string): string => `$EDC/provisioning/${clientId}/TEST-V1/probe`;

describe('revoking, disabling and deleting end live sessions (one process)', () => {
  let fixture: TestPlatform;
  let bystander: OnlineDevice;
  let provisioningBystander: MqttClient;

  before(async () => {
    fixture = await startTestPlatform();
    bystander = await onlineDevice(fixture, 'se-bystander', 'bystanders');
    provisioningBystander = (await provisioningSession(fixture, 'se-bystander-prov', 'bystanders')).client;
  });
  after(async () => {
    await bystander.client.endAsync();
    await provisioningBystander.endAsync();
    await fixture.close();
  });

  /** Every case: the devices of another account, on both brokers, are still served. */
  async function assertBystandersServed(): Promise<void> {
    await assertStillServed(bystander.client, accountTopic('bystanders', 'se-bystander'));
    await assertStillServed(provisioningBystander, provisionTopic('se-bystander-prov'));
  }

  it('revoking a certificate closes the account-broker session using it before the API answers; a new CONNECT is refused', async () => {
    const device = await onlineDevice(fixture, 'se-revoke-1', 'acme-se');
    await assertStillServed(device.client, accountTopic('acme-se', 'se-revoke-1'));
    const closed = closeOf(device.client, 'revoked device');
    const answer = await fixture.api('POST', `/certificates/${device.serial}/revoke`, { reason: 'stolen' });
    assert.equal(answer.status, 200);
    assert.equal(holds(fixture.platform.accountBroker.aedes, 'se-revoke-1'), false, 'closed by the time the API answered');
    await closed;
    await assertNotAcknowledged(device.client, accountTopic('acme-se', 'se-revoke-1'));
    await assert.rejects(runDevice(device.state), (error: { code?: number }) => error.code === 5);
    assert.match(fixture.logText(), /"serial":"[0-9a-f]+".*"cause":"revoked".*live session ended/);
    await assertBystandersServed();
  });

  it('disabling a request (action route) closes the provision-broker session it opened; a new CONNECT gets 4', async () => {
    const { request, client } = await provisioningSession(fixture, 'se-disable-1', 'acme-se');
    await assertStillServed(client, provisionTopic('se-disable-1'));
    const closed = closeOf(client, 'disabled request');
    assert.equal((await fixture.api('POST', `/provision-requests/${request.id}/disable`)).status, 200);
    assert.equal(holds(fixture.platform.provisionBroker.aedes, 'se-disable-1'), false, 'closed by the time the API answered');
    await closed;
    await assertNotAcknowledged(client, provisionTopic('se-disable-1'));
    assert.equal(await connackOf(fixture.connectProvision({ clientId: 'se-disable-1', username: request.username, password: request.password })), 4);
    await assertBystandersServed();
  });

  it('disabling a request with PATCH status DISABLED closes its session; another PATCH does not', async () => {
    const { request, client } = await provisioningSession(fixture, 'se-patch-1', 'acme-se');
    const current = await fixture.api<{ version: number }>('GET', `/provision-requests/${request.id}`);
    const retries = await fixture.api<{ version: number }>('PATCH', `/provision-requests/${request.id}`, {
      version: current.body.version,
      retryMaxAttempts: 7,
    });
    assert.equal(retries.status, 200);
    await assertStillServed(client, provisionTopic('se-patch-1'));
    const closed = closeOf(client, 'request patched to DISABLED');
    const disabled = await fixture.api('PATCH', `/provision-requests/${request.id}`, { version: retries.body.version, status: 'DISABLED' });
    assert.equal(disabled.status, 200);
    assert.equal(holds(fixture.platform.provisionBroker.aedes, 'se-patch-1'), false);
    await closed;
    await assertBystandersServed();
  });

  it("changing a request's password with PATCH closes the session opened with the old one", async () => {
    const { request, client } = await provisioningSession(fixture, 'se-password-1', 'acme-se');
    await assertStillServed(client, provisionTopic('se-password-1'));
    const closed = closeOf(client, 'password changed');
    const current = await fixture.api<{ version: number }>('GET', `/provision-requests/${request.id}`);
    const changed = await fixture.api('PATCH', `/provision-requests/${request.id}`, {
      version: current.body.version,
      password: 'a-new-password-for-se-password-1',
    });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.equal(holds(fixture.platform.provisionBroker.aedes, 'se-password-1'), false, 'closed by the time the API answered');
    await closed;
    assert.equal(await connackOf(fixture.connectProvision({ clientId: 'se-password-1', username: request.username, password: request.password })), 4);
    await assertBystandersServed();
  });

  it('deleting a request closes the provision-broker session it opened', async () => {
    const { request, client } = await provisioningSession(fixture, 'se-delete-1', 'acme-se');
    await assertStillServed(client, provisionTopic('se-delete-1'));
    const closed = closeOf(client, 'deleted request');
    assert.equal((await fixture.api('DELETE', `/provision-requests/${request.id}`)).status, 204);
    assert.equal(holds(fixture.platform.provisionBroker.aedes, 'se-delete-1'), false);
    await closed;
    await assertNotAcknowledged(client, provisionTopic('se-delete-1'));
    await assertBystandersServed();
  });

  it('a request displaced by overwriteIfDuplicate (the admin moving the clientId, or the same account replacing it) closes the session it opened', async () => {
    const moved = await provisioningSession(fixture, 'se-moved-1', 'acme-se');
    await assertStillServed(moved.client, provisionTopic('se-moved-1'));
    const movedClosed = closeOf(moved.client, 'request displaced by another account');
    const other = await createAccountAndRequest(fixture, 'se-moved-1', { account: 'globex-se', extra: { overwriteIfDuplicate: true } });
    assert.ok(other.id);
    assert.equal(holds(fixture.platform.provisionBroker.aedes, 'se-moved-1'), false, 'closed by the time the API answered');
    await movedClosed;

    const replaced = await provisioningSession(fixture, 'se-replaced-1', 'acme-se');
    const replacedClosed = closeOf(replaced.client, 'request replaced in its account');
    await createAccountAndRequest(fixture, 'se-replaced-1', { account: 'acme-se', extra: { overwriteIfDuplicate: true } });
    assert.equal(holds(fixture.platform.provisionBroker.aedes, 'se-replaced-1'), false);
    await replacedClosed;
    await assertBystandersServed();
  });

  it('deleting an account closes its devices on the account broker (its requests, deleted first, closed theirs)', async () => {
    const device = await onlineDevice(fixture, 'se-doomed-1', 'doomed');
    // The account cannot go while a request refers to it: the completed one is deleted first,
    // which ends no account-broker session.
    assert.equal((await fixture.api('DELETE', `/accounts/${device.request.accountId}`)).status, 409);
    assert.equal((await fixture.api('DELETE', `/provision-requests/${device.request.id}`)).status, 204);
    await assertStillServed(device.client, accountTopic('doomed', 'se-doomed-1'));
    const closed = closeOf(device.client, 'device of a deleted account');
    assert.equal((await fixture.api('DELETE', `/accounts/${device.request.accountId}`)).status, 204);
    assert.equal(holds(fixture.platform.accountBroker.aedes, 'se-doomed-1'), false);
    await closed;
    await assert.rejects(runDevice(device.state), (error: { code?: number }) => error.code === 5);
    await assertBystandersServed();
  });

  it('an account notice reaches the provision broker too (sessions whose request belongs to the account)', async () => {
    // Over the API an account with requests cannot be deleted; the notice itself covers both brokers.
    const { request, client } = await provisioningSession(fixture, 'se-account-prov', 'acme-se');
    const closed = closeOf(client, 'provisioning device of the account');
    await fixture.platform.sessions.endSessions({ kind: 'account', accountId: request.accountId, cause: 'deleted' });
    assert.equal(holds(fixture.platform.provisionBroker.aedes, 'se-account-prov'), false);
    await closed;
    await assertBystandersServed();
  });

  it('re-provisioning closes the first identity, still connected, when the second completes', async () => {
    const first = await onlineDevice(fixture, 'se-twice-1', 'acme-se');
    await assertStillServed(first.client, accountTopic('acme-se', 'se-twice-1'));
    // The operator's new request for the same device and credentials (factory reset).
    await createAccountAndRequest(fixture, 'se-twice-1', {
      account: 'acme-se',
      extra: { username: first.request.username, password: first.request.password, overwriteIfDuplicate: true },
    });
    const closed = closeOf(first.client, 'superseded identity', 20_000);
    const again = await runDevice(first.state, { factoryReset: true });
    assert.equal(again.status, 'online');
    if (again.status !== 'online') return;
    try {
      await closed;
      const old = await fixture.platform.store.getCertificate(first.serial);
      assert.equal(old?.status, 'REVOKED');
      // Ended by the revocation (logged with its serial), not by the second identity's CONNECT taking the clientId over.
      assert.match(fixture.logText(), new RegExp(`"serial":"${first.serial}".*"cause":"superseded".*live session ended`));
      await assertStillServed(again.accountClient, accountTopic('acme-se', 'se-twice-1'));
    } finally {
      await again.accountClient.endAsync();
    }
    await assertBystandersServed();
  });
});
