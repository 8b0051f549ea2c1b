import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runDevice } from '../agent-sim/device-agent.ts';
import { configurationHash } from '../protocol/configuration-hash.ts';
import { decodeConfigurationPush, decodeProvisionResult, encodeBirth } from '../protocol/messages.ts';
import { verifyBodySignature } from '../protocol/signing.ts';
import { birthTopic, configurationPushTopic } from '../protocol/topics.ts';
import { listenForReplies, requestProvisioning } from './support/device-exchange.ts';
import { connackOf, createAccountAndRequest, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { connectOutcome, eventually, subackCode } from './support/security-kit.ts';
import { newSimulatedDevice, onlineSimulatedDevice } from './support/simulated-device.ts';

describe('the device journey: provision broker → account broker', () => {
  let fixture: TestPlatform;
  before(async () => {
    fixture = await startTestPlatform();
  });
  after(() => fixture.close());

  it('goes from factory state to its account broker, where its birth is recorded', async () => {
    const request = await createAccountAndRequest(fixture, 'journey-1', { generateActivationKey: true });
    const state = await newSimulatedDevice(fixture, request);
    const steps: string[] = [];
    const result = await runDevice(state, { onStep: (step) => steps.push(step) });
    assert.equal(result.status, 'online', result.status === 'failed' ? result.reason : '');
    if (result.status !== 'online') return;
    await result.accountClient.endAsync();
    assert.deepEqual(steps, ['connect', 'request', 'reply', 'verify', 'bundles', 'complete', 'done', 'account']);

    const settings = await state.settings();
    assert.equal(settings.provisioned, true);
    assert.equal(settings.enabled, false);
    const applied = await readFile(join(state.directory, 'configuration.json'), 'utf8');
    const device = await eventually(
      () => fixture.platform.store.getDevice(request.accountId, 'journey-1'),
      (record) => record?.lastBirthOn != null,
      'birth not recorded',
    );
    assert.equal(device?.reportedConfigurationHash, configurationHash(applied));
    assert.equal(device?.expectedConfigurationHash, configurationHash(applied));
    assert.ok(device?.certificateSerial);
    await eventually(
      () => fixture.platform.store.getDevice(request.accountId, 'journey-1'),
      (record) => record?.online === false,
      'offline after disconnect',
    );

    assert.equal(
      await connackOf(fixture.connectProvision({ clientId: request.clientId, username: request.username, password: request.password })),
      4,
      'the provisioning credentials are refused afterwards',
    );
  });

  it('goes straight to the account broker when restarted, and is refused there once its certificate is revoked', async () => {
    const request = await createAccountAndRequest(fixture, 'journey-2');
    const state = await newSimulatedDevice(fixture, request);
    const first = await runDevice(state);
    assert.equal(first.status, 'online');
    if (first.status === 'online') await first.accountClient.endAsync();

    const again = await runDevice(state);
    assert.equal(again.status, 'online');
    if (again.status !== 'online') return;
    assert.equal(again.provisionedNow, false);
    assert.equal(again.attempts, 0);
    await again.accountClient.endAsync();

    const serial = (await fixture.platform.store.getDevice(request.accountId, 'journey-2'))?.certificateSerial;
    assert.ok(serial);
    assert.equal((await fixture.api('POST', `/certificates/${serial}/revoke`, { reason: 'test' })).status, 200);
    await assert.rejects(runDevice(state), (error: { code?: number }) => error.code === 5);
    assert.match(fixture.logText(), /CERTIFICATE_REVOKED/);
  });

  it('keeps an account device inside $EDC/{account}/{clientId}/# and {account}/{clientId}/#', async () => {
    const request = await createAccountAndRequest(fixture, 'journey-acl');
    const state = await newSimulatedDevice(fixture, request);
    const result = await runDevice(state);
    assert.equal(result.status, 'online');
    if (result.status !== 'online') return;
    const client = result.accountClient;
    try {
      const codes = (filter: string): Promise<number> => subackCode(client, filter);
      assert.equal(await codes('$EDC/acme/journey-acl/#'), 1);
      assert.equal(await codes('acme/journey-acl/telemetry'), 1);
      assert.equal(await codes('$EDC/acme/journey-1/#'), 128);
      assert.equal(await codes('acme/+/telemetry'), 128);
      assert.equal(await codes('#'), 128);
      assert.equal(await codes('$EDC/other/journey-acl/#'), 128);
    } finally {
      await client.endAsync();
    }
  });

  it('refuses a certificate from another CA in the TLS handshake, with the reason in the log', async () => {
    const other = await startTestPlatform();
    try {
      const request = await createAccountAndRequest(other, 'foreign-1');
      const state = await newSimulatedDevice(other, request);
      const result = await runDevice(state);
      assert.equal(result.status, 'online');
      if (result.status === 'online') await result.accountClient.endAsync();
      const [cert, key] = await Promise.all([readFile(join(state.directory, 'client.pem'), 'utf8'), readFile(join(state.directory, 'client.key'), 'utf8')]);
      const outcome = await connectOutcome(`mqtts://localhost:${fixture.platform.accountBroker.mqttsPort}`, {
        clientId: 'foreign-1',
        cert,
        key,
        ca: fixture.rootPem,
      });
      assert.notEqual(outcome, 'connected');
      await eventually(
        async () => fixture.logText(),
        (text) => text.includes('TLS handshake refused'),
        'handshake refusal logged',
      );
    } finally {
      await other.close();
    }
  });

  it('sends a configuration the operator changed after completion to a device that reports the old one', async () => {
    const { request, state, client } = await onlineSimulatedDevice(fixture, 'journey-conf-edit', 'acme-edit');
    try {
      const applied = configurationHash(await readFile(join(state.directory, 'configuration.json'), 'utf8'));
      const account = await fixture.api<{ version: number }>('GET', `/accounts/${request.accountId}`);
      const edited = await fixture.api('PATCH', `/accounts/${request.accountId}`, {
        version: account.body.version,
        configurationTemplate: { telemetry: { intervalSeconds: 5 }, clientId: '${clientId}' },
      });
      assert.equal(edited.status, 200, JSON.stringify(edited.body));
      const pushed = new Promise<Buffer>((resolve) => client.once('message', (_topic, payload) => resolve(payload)));
      await client.subscribeAsync(configurationPushTopic('acme-edit', 'journey-conf-edit'), { qos: 1 });
      await client.publishAsync(birthTopic('acme-edit', 'journey-conf-edit'), encodeBirth({ configurationHash: applied }), { qos: 1 });
      const document = JSON.parse(decodeConfigurationPush(await pushed).body.toString('utf8')) as { content: string; sha256: string };
      assert.notEqual(document.sha256, applied);
      assert.match(document.content, /"intervalSeconds":5/);
    } finally {
      await client.endAsync();
    }
  });

  it('sends the configuration again, signed, when a birth reports another hash', async () => {
    const { state, client } = await onlineSimulatedDevice(fixture, 'journey-conf');
    try {
      const pushed = new Promise<Buffer>((resolve) => client.once('message', (_topic, payload) => resolve(payload)));
      await client.subscribeAsync(configurationPushTopic('acme', 'journey-conf'), { qos: 1 });
      await client.publishAsync(birthTopic('acme', 'journey-conf'), encodeBirth({ configurationHash: 'f'.repeat(64) }), { qos: 1 });
      const push = decodeConfigurationPush(await pushed);
      const signing = await readFile(join(state.directory, 'signing.pem'), 'utf8');
      assert.ok(verifyBodySignature(push.body, push.signature, push.signatureAlgorithm, signing));
      const document = JSON.parse(push.body.toString('utf8')) as { clientId: string; requestId: string; content: string; sha256: string };
      assert.equal(document.sha256, configurationHash(await readFile(join(state.directory, 'configuration.json'), 'utf8')));
      // Bound to the device and the message, like a provisioning reply (PROTOCOL.md §10).
      assert.equal(document.clientId, 'journey-conf');
      assert.equal(document.requestId, push.requestId);
    } finally {
      await client.endAsync();
    }
  });

  it('moves a device to another account: after a factory reset it lands there and its old certificate is revoked', async () => {
    const request = await createAccountAndRequest(fixture, 'mover-1');
    const state = await newSimulatedDevice(fixture, request);
    const first = await runDevice(state);
    assert.equal(first.status, 'online');
    if (first.status === 'online') await first.accountClient.endAsync();
    const oldSerial = (await fixture.platform.store.getDevice(request.accountId, 'mover-1'))?.certificateSerial;

    // The operator's new request for the same device, in account "globex", with the device's factory credentials.
    await createAccountAndRequest(fixture, 'mover-1', {
      account: 'globex',
      extra: { username: request.username, password: request.password, overwriteIfDuplicate: true },
    });
    const moved = await runDevice(state, { factoryReset: true });
    assert.equal(moved.status, 'online', JSON.stringify(moved.status === 'failed' ? moved.reason : ''));
    if (moved.status !== 'online') return;
    await moved.accountClient.endAsync();
    const next = JSON.parse(await readFile(join(state.directory, 'account.json'), 'utf8')) as { account: string };
    assert.equal(next.account, 'globex');
    const old = await fixture.platform.store.getCertificate(oldSerial!);
    assert.equal(old?.status, 'REVOKED');
  });

  it('sends devices of an account with its own broker there', async () => {
    const request = await createAccountAndRequest(fixture, 'external-1', {
      account: 'external',
      accountBody: { brokerUrl: 'mqtts://broker.external.example:8883' },
    });
    const client = await fixture.connectProvision({ clientId: request.clientId, username: request.username, password: request.password });
    try {
      const replyTo = await listenForReplies(client, request.clientId);
      await requestProvisioning(client, request.clientId, 'x-1');
      const result = decodeProvisionResult((await replyTo('x-1')).body!);
      assert.equal(result.next.brokerUrl, 'mqtts://broker.external.example:8883');
    } finally {
      await client.endAsync();
    }
  });
});

describe('agent retries while the provisioner is down', () => {
  let fixture: TestPlatform;
  before(async () => {
    fixture = await startTestPlatform();
  });
  after(() => fixture.close());

  it('retries every retry-interval and succeeds once the provisioner is back', async () => {
    const request = await createAccountAndRequest(fixture, 'retry-1');
    const state = await newSimulatedDevice(fixture, request, { timeout: 300, 'retry-interval': 200, 'retry-max-attempts': -1 });
    await fixture.platform.provisioner.stop();
    const retries: number[] = [];
    const running = runDevice(state, { onStep: (step) => step === 'retry' && retries.push(Date.now()) });
    await eventually(
      async () => retries.length,
      (count) => count >= 2,
      'the agent retries',
    );
    await fixture.platform.provisioner.start();
    const result = await running;
    assert.equal(result.status, 'online');
    if (result.status === 'online') await result.accountClient.endAsync();
    const gaps = retries.slice(1).map((time, i) => time - retries[i]!);
    for (const gap of gaps) assert.ok(gap >= 400, `an attempt (300 ms) plus retry-interval (200 ms) apart, got ${gap} ms`);
  });

  it('gives up after retry-max-attempts', async () => {
    const request = await createAccountAndRequest(fixture, 'retry-2');
    const state = await newSimulatedDevice(fixture, request, { timeout: 200, 'retry-interval': 50, 'retry-max-attempts': 3 });
    await fixture.platform.provisioner.stop();
    try {
      const result = await runDevice(state);
      assert.equal(result.status, 'failed');
      assert.equal(result.attempts, 3);
      if (result.status === 'failed') assert.match(result.reason, /timeout/);
      assert.equal((await state.settings()).provisioned, false);
    } finally {
      await fixture.platform.provisioner.start();
    }
  });
});
