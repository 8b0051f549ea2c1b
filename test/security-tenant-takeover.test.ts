import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { runDevice } from '../agent-sim/device-agent.ts';
import { createAccountAndRequest, startTestPlatform, type CreatedRequest, type TestPlatform } from './support/platform-fixture.ts';
import { connectOutcome, provisionDevice, publishOutcome, type ProvisionedDevice } from './support/security-kit.ts';
import { newSimulatedDevice } from './support/simulated-device.ts';

interface Answer {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers, read field by field by the checks
  readonly body: any;
  readonly failedCount: string | null;
}

/**
 * The probe of issue 12 §1, over real sockets with a real device: acme's device is provisioned,
 * COMPLETED and online on its account broker; globex's API token then tries every way of taking
 * its clientId (single and batch creation, overwriteIfDuplicate, CSV, enabling, changing, deleting
 * or disabling acme's request, revoking acme's certificate) and globex's own provisioned device
 * tries both brokers under that clientId. Afterwards acme's certificate is still VALID, its
 * request unchanged, its live session never dropped and still publishing, and every answer
 * globex got is one it gets for its own or for unknown records: nothing told it acme exists.
 */
describe('another account cannot take over a provisioned device (the probe of issue 12 §1)', () => {
  const clientId = 'A0B1C2D3E4F5';
  let fixture: TestPlatform;
  let acme: CreatedRequest;
  let globexId: string;
  let globexToken: string;
  let globexDevice: ProvisionedDevice;
  let session: MqttClient;
  const sessionEvents: string[] = [];

  async function asGlobex(method: string, path: string, body?: unknown, accept = 'application/json'): Promise<Answer> {
    const response = await fetch(`${fixture.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${globexToken}`, accept, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    const json = /json/.test(response.headers.get('content-type') ?? '') && text.length > 0;
    return { status: response.status, body: json ? JSON.parse(text) : text, failedCount: response.headers.get('x-failed-count') };
  }

  /** The answer without the path it was given for (`instance`), to compare a refusal about acme's record with one about nothing. */
  function withoutInstance(answer: Answer): unknown {
    const { instance: _instance, ...rest } = answer.body as Record<string, unknown>;
    return { status: answer.status, body: rest };
  }

  before(async () => {
    fixture = await startTestPlatform();
    acme = await createAccountAndRequest(fixture, clientId, { account: 'acme' });
    const state = await newSimulatedDevice(fixture, acme);
    const online = await runDevice(state);
    assert.equal(online.status, 'online', online.status === 'failed' ? online.reason : '');
    if (online.status !== 'online') return;
    session = online.accountClient;
    for (const event of ['close', 'offline', 'disconnect', 'error'] as const) session.on(event, () => sessionEvents.push(event));

    globexDevice = await provisionDevice(fixture, 'globex-device-1', { account: 'globex' });
    globexId = globexDevice.request.accountId;
    globexToken = (await fixture.api<{ token: string }>('POST', '/api-tokens', { accountId: globexId })).body.token;
  });
  after(async () => {
    await session?.endAsync();
    await fixture.close();
  });

  it("leaves acme's certificate VALID, its request unchanged and its live session up, and tells globex nothing", async () => {
    const store = fixture.platform.store;
    const acmeRequest = await store.getProvisionRequest(acme.id);
    assert.equal(acmeRequest?.jobStatus, 'COMPLETED');
    const serial = (await store.getDevice(acme.accountId, clientId))?.certificateSerial;
    assert.ok(serial);
    const certificatesBefore = await store.listCertificates({ clientId, limit: 1000 });

    // What globex gets for a clientId of its own account, and for records that do not exist.
    const ownAgain = await asGlobex('POST', '/provision-requests', { accountId: globexId, clientId: 'globex-device-1' });
    assert.equal(ownAgain.status, 409);
    const ownInBatch = await asGlobex('POST', '/provision-requests/batch', { requests: [{ accountId: globexId, clientId: 'globex-device-1' }] });

    for (const extra of [
      {},
      { overwriteIfDuplicate: true },
      { status: 'DISABLED' },
      { username: acme.username, password: acme.password, overwriteIfDuplicate: true },
    ]) {
      const answer = await asGlobex('POST', '/provision-requests', { accountId: globexId, clientId, ...extra });
      assert.deepEqual(answer, ownAgain, `single create ${JSON.stringify(extra)}`);
    }
    for (const overwriteIfDuplicate of [false, true]) {
      const batch = await asGlobex('POST', '/provision-requests/batch', { requests: [{ accountId: globexId, clientId, overwriteIfDuplicate }] });
      assert.equal(batch.status, ownInBatch.status);
      assert.deepEqual(batch.body.failed, [{ ...ownInBatch.body.failed[0], clientId }], `batch, overwriteIfDuplicate ${overwriteIfDuplicate}`);
      const csv = await asGlobex('POST', '/provision-requests/batch', { requests: [{ accountId: globexId, clientId, overwriteIfDuplicate }] }, 'text/csv');
      assert.equal(csv.failedCount, '1');
      assert.doesNotMatch(csv.body, new RegExp(clientId));
    }

    // acme's own records, by id: exactly what an id that does not exist gets.
    const requestCalls: [string, string, unknown][] = [
      ['POST', '/enable', undefined],
      ['POST', '/disable', undefined],
      ['PATCH', '', { version: acmeRequest!.version, expiresOn: '2099-01-01T00:00:00Z' }],
      ['PATCH', '', { version: acmeRequest!.version, status: 'ENABLED' }],
      ['GET', '', undefined],
      ['DELETE', '', undefined],
    ];
    for (const [method, suffix, body] of requestCalls) {
      const theirs = await asGlobex(method, `/provision-requests/${acme.id}${suffix}`, body);
      const nothing = await asGlobex(method, `/provision-requests/00000000-0000-4000-8000-000000000000${suffix}`, body);
      assert.equal(theirs.status, 404, `${method} ${suffix}`);
      assert.deepEqual(withoutInstance(theirs), withoutInstance(nothing), `${method} ${suffix}`);
    }
    for (const [method, suffix, body] of [
      ['GET', '', undefined],
      ['POST', '/revoke', { reason: 'superseded' }],
    ] as const) {
      const theirs = await asGlobex(method, `/certificates/${serial}${suffix}`, body);
      const nothing = await asGlobex(method, `/certificates/0badc0ffee${suffix}`, body);
      assert.equal(theirs.status, 404);
      assert.deepEqual(withoutInstance(theirs), withoutInstance(nothing));
    }
    for (const path of ['/provision-requests?clientId=', '/certificates?clientId=', '/audit-events?clientId=']) {
      assert.deepEqual(await asGlobex('GET', `${path}${clientId}`), await asGlobex('GET', `${path}NOBODY0000001`), path);
    }

    // globex's own device under acme's clientId: refused by both brokers, and acme's session is not taken over.
    const provisionUrl = `mqtts://localhost:${fixture.platform.provisionBroker.mqttsPort}`;
    const accountUrl = `mqtts://localhost:${fixture.platform.accountBroker.mqttsPort}`;
    assert.equal(await connectOutcome(provisionUrl, { clientId, username: acme.username, password: 'guessed-password', ca: fixture.rootPem }), 'connack 4');
    assert.equal(
      await connectOutcome(accountUrl, { clientId, cert: globexDevice.certPem, key: globexDevice.keyPem, ca: fixture.rootPem }),
      'connack 5',
      "globex's valid certificate does not open acme's clientId",
    );

    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal((await store.getCertificate(serial))?.status, 'VALID');
    assert.deepEqual(await store.getProvisionRequest(acme.id), acmeRequest, "acme's request is unchanged");
    assert.deepEqual((await store.listCertificates({ clientId, limit: 1000 })).items, certificatesBefore.items, 'no certificate issued or revoked');
    assert.deepEqual(
      (await store.listProvisionRequests({ clientIds: [clientId] })).items.map((item) => item.accountId),
      [acme.accountId],
    );
    assert.deepEqual(sessionEvents, [], "acme's session never dropped");
    assert.equal(session.connected, true);
    assert.equal(await publishOutcome(session, `acme/${clientId}/telemetry`, '{"t":21}'), 'accepted');
  });
});
