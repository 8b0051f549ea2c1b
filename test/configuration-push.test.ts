import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { configurationHash } from '../protocol/configuration-hash.ts';
import { configurationResultTopic, decodeConfigurationPushBody, encodeConfigurationResult, type ConfigurationPushBody } from '../protocol/configuration.ts';
import { decodeKuraPayload, encodeKuraPayload } from '../protocol/kura-payload.ts';
import { decodeConfigurationPush, encodeBirth } from '../protocol/messages.ts';
import type { SignatureAlgorithm } from '../protocol/schemas.ts';
import { verifyBodySignature } from '../protocol/signing.ts';
import { birthTopic, configurationPushTopic } from '../protocol/topics.ts';
import { createAccountAndRequest, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { eventually } from './support/security-kit.ts';
import { connectAccount, provisionOverMqtt, type WireProvisioned } from './support/wire-provisioning.ts';

/**
 * CONF-V1 (issue 15 §2–3, docs/PROTOCOL.md §14) on the all-in-one platform, over real TLS with
 * mqtt.js: devices provisioned into two categories; an edited configuration reaches exactly the
 * online devices that hold it, at once; each answers applied or refused and the registry says so;
 * a device offline during the edit gets it at its next birth; moving a device to another category
 * sends it that category's configuration.
 */

const account = 'conf';

interface OnlineDevice {
  readonly clientId: string;
  readonly client: MqttClient;
  readonly provisioned: WireProvisioned;
  /** Pushes received, verified and decoded, in order. */
  readonly pushes: { requestId: string; body: ConfigurationPushBody }[];
}

async function deviceRecord(fixture: TestPlatform, accountId: string, clientId: string) {
  const device = await fixture.platform.store.getDevice(accountId, clientId);
  assert.ok(device, `${clientId} is in the registry`);
  return device;
}

describe('configuration push with acknowledgement (CONF-V1)', () => {
  let fixture: TestPlatform;
  let accountId: string;
  const configurationIds: Record<string, string> = {};
  const provisioned = new Map<string, WireProvisioned>();
  const online = new Map<string, OnlineDevice>();

  async function provision(clientId: string, category: string): Promise<void> {
    const request = await createAccountAndRequest(fixture, clientId, { account, extra: { category, tags: ['lab'] } });
    accountId = request.accountId;
    provisioned.set(
      clientId,
      await provisionOverMqtt({
        provisionUrl: `mqtts://localhost:${fixture.platform.provisionBroker.mqttsPort}`,
        rootPem: fixture.rootPem,
        clientId,
        username: request.username,
        password: request.password,
        requestId: `provision-${clientId}`,
      }),
    );
  }

  /** Connects, subscribes to the push topic (before the birth, as §10 says) and publishes a birth with the hash it runs. */
  async function goOnline(clientId: string, runningHash: string): Promise<OnlineDevice> {
    const device = provisioned.get(clientId)!;
    const client = await connectAccount(`mqtts://localhost:${fixture.platform.accountBroker.mqttsPort}`, fixture.rootPem, clientId, device);
    const pushes: OnlineDevice['pushes'] = [];
    client.on('message', (topic, payload) => {
      if (topic !== configurationPushTopic(account, clientId)) return;
      const push = decodeConfigurationPush(payload);
      verifyBodySignature(push.body, push.signature, push.signatureAlgorithm, device.result.certificates.signing);
      pushes.push({ requestId: push.requestId, body: decodeConfigurationPushBody(push.body) });
    });
    await client.subscribeAsync(configurationPushTopic(account, clientId), { qos: 1 });
    await client.publishAsync(birthTopic(account, clientId), encodeBirth({ configurationHash: runningHash, model: 'm-1', firmware: '1.0' }), { qos: 1 });
    const entry = { clientId, client, provisioned: device, pushes };
    online.set(clientId, entry);
    return entry;
  }

  async function answer(device: OnlineDevice, push: OnlineDevice['pushes'][number], refusal?: string): Promise<void> {
    const message = refusal
      ? encodeConfigurationResult({ requestId: push.requestId, result: 'REFUSED', configurationHash: push.body.sha256, errorMessage: refusal })
      : encodeConfigurationResult({ requestId: push.requestId, result: 'APPLIED', configurationHash: push.body.sha256 });
    await device.client.publishAsync(configurationResultTopic(account, device.clientId), message, { qos: 1 });
  }

  before(async () => {
    // A long resend interval: any second push of one configuration in these tests would be the platform's fault, not the limiter letting it through.
    fixture = await startTestPlatform({ configurationResendIntervalSeconds: 3600, birthIntervalSeconds: 1 });
    const created = await fixture.api<{ id: string }>('POST', '/accounts', { name: account });
    accountId = created.body.id;
    for (const [name, content] of [
      ['conf-a', { mode: 'a', level: 1 }],
      ['conf-b', { mode: 'b', level: 1 }],
    ] as const) {
      const response = await fixture.api<{ id: string }>('POST', '/configurations', { accountId, name, content });
      assert.equal(response.status, 201);
      configurationIds[name] = response.body.id;
    }
    for (const [name, configuration] of [
      ['cat-a', 'conf-a'],
      ['cat-b', 'conf-b'],
    ] as const) {
      const response = await fixture.api('POST', '/categories', { accountId, name, configurationId: configurationIds[configuration] });
      assert.equal(response.status, 201, JSON.stringify(response.body));
    }
    for (const clientId of ['a-1', 'a-2', 'a-3', 'a-late']) await provision(clientId, 'cat-a');
    for (const clientId of ['b-1', 'b-2']) await provision(clientId, 'cat-b');
  });
  after(async () => {
    await Promise.all([...online.values()].map((device) => device.client.endAsync()));
    await fixture.close();
  });

  it("provisions each device with its category's configuration, recorded as applied", async () => {
    assert.equal(provisioned.get('a-1')!.result.configuration.content, JSON.stringify({ mode: 'a', level: 1 }));
    assert.equal(provisioned.get('b-1')!.result.configuration.content, JSON.stringify({ mode: 'b', level: 1 }));
    const device = await deviceRecord(fixture, accountId, 'a-1');
    assert.equal(device.category, 'cat-a');
    assert.deepEqual(device.tags, ['lab']);
    assert.equal(device.configurationState, 'APPLIED');
    assert.equal(device.expectedConfigurationHash, provisioned.get('a-1')!.result.configuration.sha256);
  });

  it('sends an edited configuration at once to exactly the online devices that hold it; they answer, and the registry says applied or refused (why)', async () => {
    for (const clientId of ['a-1', 'a-2', 'a-3', 'b-1', 'b-2']) await goOnline(clientId, provisioned.get(clientId)!.result.configuration.sha256);
    await eventually(
      () => fixture.platform.store.listDevices({ accountId, online: true }),
      (page) => page.total === 5,
      'the five devices online',
    );
    const version1 = await fixture.api<{ version: number }>('GET', `/configurations/${configurationIds['conf-a']}`);
    const edit = await fixture.api<{ version: number }>('PATCH', `/configurations/${configurationIds['conf-a']}`, {
      version: version1.body.version,
      content: { mode: 'a', level: 2 },
    });
    assert.equal(edit.status, 200, JSON.stringify(edit.body));
    assert.equal(edit.body.version, 2);
    const newContent = JSON.stringify({ mode: 'a', level: 2 });
    const newHash = configurationHash(newContent);

    for (const clientId of ['a-1', 'a-2', 'a-3']) {
      const device = online.get(clientId)!;
      await eventually(
        () => device.pushes.length,
        (count) => count >= 1,
        `${clientId} receives the edited configuration`,
        10_000,
      );
      const push = device.pushes[0]!;
      assert.equal(push.body.content, newContent);
      assert.equal(push.body.sha256, newHash);
      assert.equal(push.body.clientId, clientId);
      assert.equal(push.body.requestId, push.requestId);
      assert.equal(push.body.configurationId, configurationIds['conf-a']);
      assert.equal(push.body.version, 2);
      assert.equal((await deviceRecord(fixture, accountId, clientId)).configurationState, 'PENDING');
    }
    await answer(online.get('a-1')!, online.get('a-1')!.pushes[0]!);
    await answer(online.get('a-2')!, online.get('a-2')!.pushes[0]!);
    await answer(online.get('a-3')!, online.get('a-3')!.pushes[0]!, 'level 2 is not supported by firmware 1.0');

    const applied = await eventually(
      () => deviceRecord(fixture, accountId, 'a-1'),
      (device) => device.configurationState === 'APPLIED',
      'a-1 applied',
    );
    assert.equal(applied.reportedConfigurationHash, newHash);
    assert.equal(applied.expectedConfigurationHash, newHash);
    const refused = await eventually(
      () => deviceRecord(fixture, accountId, 'a-3'),
      (device) => device.configurationState === 'REFUSED',
      'a-3 refused',
    );
    assert.equal(refused.configurationError, 'level 2 is not supported by firmware 1.0');
    assert.equal(refused.expectedConfigurationHash, newHash);
    assert.notEqual(refused.reportedConfigurationHash, newHash);

    // Over the admin API, as an operator sees it.
    const listed = await fixture.api<{ items: { clientId: string; configurationState: string; configurationError: string | null }[] }>(
      'GET',
      `/devices?accountId=${accountId}&category=cat-a&configurationInSync=false`,
    );
    assert.deepEqual(
      listed.body.items.map((item) => [item.clientId, item.configurationState, item.configurationError]),
      [
        ['a-3', 'REFUSED', 'level 2 is not supported by firmware 1.0'],
        ['a-late', 'PENDING', null],
      ],
    );
    // a-late, offline during the edit, is shown out of sync at once: the registry records what it should run now.
    const offline = await eventually(
      () => deviceRecord(fixture, accountId, 'a-late'),
      (device) => device.expectedConfigurationHash === newHash,
      'the offline device expects the new configuration',
    );
    assert.deepEqual([offline.online, offline.configurationState], [false, 'PENDING']);
    const outOfSync = await fixture.api<{ items: { clientId: string }[] }>('GET', `/devices?accountId=${accountId}&configurationInSync=false`);
    assert.deepEqual(outOfSync.body.items.map((item) => item.clientId).sort(), ['a-3', 'a-late']);
    assert.deepEqual(online.get('b-1')!.pushes, [], 'a device of the other category gets nothing');
    assert.deepEqual(online.get('b-2')!.pushes, []);

    // A refused configuration is not sent again at the device's next birth.
    const refuser = online.get('a-3')!;
    await refuser.client.publishAsync(birthTopic(account, 'a-3'), encodeBirth({ configurationHash: provisioned.get('a-3')!.result.configuration.sha256 }), {
      qos: 1,
    });
    await eventually(
      () => fixture.platform.store.listAudit({ accountId, clientId: 'a-3', type: 'device.birth' }),
      (page) => page.total >= 2,
      'second birth of a-3 handled',
    );
    assert.equal(refuser.pushes.length, 1, 'the refused configuration is not pushed again');
  });

  it('a device offline during the edit gets it at its next birth', async () => {
    const late = await goOnline('a-late', provisioned.get('a-late')!.result.configuration.sha256);
    await eventually(
      () => late.pushes.length,
      (count) => count >= 1,
      'a-late receives the configuration after its birth',
      10_000,
    );
    assert.equal(late.pushes[0]!.body.content, JSON.stringify({ mode: 'a', level: 2 }));
    await answer(late, late.pushes[0]!);
    await eventually(
      () => deviceRecord(fixture, accountId, 'a-late'),
      (device) => device.configurationState === 'APPLIED',
      'a-late applied',
    );
  });

  it("a device moved to another category is sent that category's configuration", async () => {
    const device = await deviceRecord(fixture, accountId, 'b-2');
    const moved = await fixture.api('PATCH', `/devices/${device.id}`, { category: 'cat-a' });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    const b2 = online.get('b-2')!;
    await eventually(
      () => b2.pushes.length,
      (count) => count >= 1,
      'b-2 receives the configuration of cat-a',
      10_000,
    );
    assert.equal(b2.pushes[0]!.body.content, JSON.stringify({ mode: 'a', level: 2 }));
    assert.deepEqual(online.get('b-1')!.pushes, [], 'its former category-mate gets nothing');
  });

  it('a Kura gateway whose birth came as KuraPayload protobuf gets its configuration push as KuraPayload, and may answer in it', async () => {
    await provision('kura-1', 'cat-b');
    const device = provisioned.get('kura-1')!;
    const client = await connectAccount(`mqtts://localhost:${fixture.platform.accountBroker.mqttsPort}`, fixture.rootPem, 'kura-1', device);
    const payloads: Buffer[] = [];
    client.on('message', (topic, payload) => {
      if (topic === configurationPushTopic(account, 'kura-1')) payloads.push(payload);
    });
    await client.subscribeAsync(configurationPushTopic(account, 'kura-1'), { qos: 1 });
    online.set('kura-1', { clientId: 'kura-1', client, provisioned: device, pushes: [] });
    // A Kura birth certificate reporting another configuration than the one held: the platform sends it.
    const staleHash = configurationHash('{"something":"else"}');
    await client.publishAsync(
      birthTopic(account, 'kura-1'),
      encodeKuraPayload({ sentOn: Date.now(), metrics: { 'configuration.hash': staleHash, model_name: 'ReliaGATE 10-20', firmware_version: 'kura-5.4' } }),
      { qos: 1 },
    );
    await eventually(
      () => payloads.length,
      (count) => count >= 1,
      'kura-1 receives a push',
      10_000,
    );
    const raw = payloads[0]!;
    assert.notEqual(raw[0], '{'.charCodeAt(0), 'not JSON');
    const kura = decodeKuraPayload(raw);
    assert.equal(kura.metrics['response.code'], 200);
    const requestId = String(kura.metrics['request.id']);
    const body = Buffer.from(kura.body ?? '', 'base64');
    assert.ok(
      verifyBodySignature(
        body,
        String(kura.metrics['signature']),
        kura.metrics['signature.algorithm'] as SignatureAlgorithm,
        device.result.certificates.signing,
      ),
      'signed',
    );
    const document = decodeConfigurationPushBody(body);
    assert.equal(document.content, JSON.stringify({ mode: 'b', level: 1 }));
    assert.equal(document.requestId, requestId);
    // Its answer as KuraPayload too.
    await client.publishAsync(
      configurationResultTopic(account, 'kura-1'),
      encodeKuraPayload({ sentOn: Date.now(), metrics: { 'request.id': requestId, result: 'APPLIED', 'configuration.hash': document.sha256 } }),
      { qos: 1 },
    );
    const record = await eventually(
      () => deviceRecord(fixture, accountId, 'kura-1'),
      (found) => found.configurationState === 'APPLIED' && found.reportedConfigurationHash === document.sha256,
      'kura-1 applied',
    );
    assert.deepEqual([record.model, record.firmware], ['ReliaGATE 10-20', 'kura-5.4']);
  });
});
