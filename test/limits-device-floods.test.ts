import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { configurationHash } from '../protocol/configuration-hash.ts';
import { decodeReply, encodeProvisionRequest, type ReplyMessage } from '../protocol/messages.ts';
import { birthTopic, configurationPushTopic, provisionRequestTopic, replyFilter } from '../protocol/topics.ts';
import { retainedBytes } from './support/fuzz-mqtt-packets.ts';
import { createAccountAndRequest, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { eventually, provisionDevice } from './support/security-kit.ts';

/**
 * Issue 20 §2, floods a device can cause: 3,000 births in 6.6 s added 3,000 audit rows, and with
 * a hash the platform does not hold 6,000 rows and 3,000 signed pushes. Now a device's births are
 * handled two at once then one per PROVISIO_BIRTH_INTERVAL_SECONDS (the latest of those in between
 * when its turn comes), it gets at most one configuration push per
 * PROVISIO_CONFIGURATION_RESEND_INTERVAL_SECONDS, and its provisioning messages beyond
 * PROVISIO_PROVISION_MESSAGE_BURST / PROVISIO_PROVISION_MESSAGES_PER_MINUTE are answered 429
 * once, then not at all until the delay it was given (docs/PROTOCOL.md §2, §10).
 */

/** A birth message padded with an ignored metric, so that a flood of them weighs something. */
function paddedBirth(hash: string, padBytes: number): Buffer {
  return Buffer.from(JSON.stringify({ sentOn: Date.now(), metrics: { 'configuration.hash': hash, padding: 'x'.repeat(padBytes) } }));
}

describe('a birth flood from one device', () => {
  const intervalSeconds = 2;
  let fixture: TestPlatform;

  before(async () => {
    fixture = await startTestPlatform({ birthIntervalSeconds: intervalSeconds, configurationResendIntervalSeconds: 60, logLevel: 'info' });
  });
  after(() => fixture.close());

  it('Should leave at most the documented audit rows and one configuration push for 500 births in a burst, and hold no memory for them', async (t) => {
    const device = await provisionDevice(fixture, 'flood-birth');
    const { accountId, clientId } = device.request;
    const store = fixture.platform.store;
    const rows = async (type: string) => (await store.listAudit({ clientId, type, limit: 1000 })).items;
    await eventually(
      () => rows('device.birth'),
      (items) => items.length === 1,
      "the agent's own birth recorded",
    );
    const applied = configurationHash(await readFile(join(device.stateDir, 'configuration.json'), 'utf8'));

    const client: MqttClient = await connectAsync(`mqtts://localhost:${fixture.platform.accountBroker.mqttsPort}`, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      clientId,
      ca: fixture.rootPem,
      cert: device.certPem,
      key: device.keyPem,
    });
    const pushes: Buffer[] = [];
    let markerSeen = false;
    client.on('message', (topic, payload) => {
      if (topic === configurationPushTopic('acme', clientId)) pushes.push(payload);
      else if (topic === `acme/${clientId}/marker`) markerSeen = true;
    });
    await client.subscribeAsync([configurationPushTopic('acme', clientId), `acme/${clientId}/marker`], { qos: 1 });

    const heapBefore = retainedBytes();
    const started = Date.now();
    // 500 births (16 KB each) reporting a hash the platform does not hold, then one with the right hash.
    const wrong = 'e'.repeat(64);
    await Promise.all(Array.from({ length: 500 }, () => client.publishAsync(birthTopic('acme', clientId), paddedBirth(wrong, 16_000), { qos: 1 })));
    await client.publishAsync(birthTopic('acme', clientId), paddedBirth(applied, 16), { qos: 1 });

    // The last birth is the one handled when the device's turn comes: its row is the marker that every birth was decided on.
    const births = await eventually(
      () => rows('device.birth'),
      (items) => items.some((event) => event.detail['configurationHash'] === applied && event.time >= started),
      'the last birth handled',
    );
    const elapsedMs = Date.now() - started;
    const fromFlood = births.filter((event) => event.time >= started);
    // Documented: two at once, then one per interval (the agent's own birth took one of the two).
    const bound = 2 + Math.ceil(elapsedMs / (intervalSeconds * 1000));
    assert.ok(fromFlood.length >= 2 && fromFlood.length <= bound, `${fromFlood.length} birth rows in ${elapsedMs} ms (at most ${bound})`);

    // One push (the first wrong hash), then none within the resend interval; the device's marker comes after any push sent.
    await eventually(
      () => rows('device.configuration.sent'),
      (items) => items.length >= 1,
      'the configuration push recorded',
    );
    await client.publishAsync(`acme/${clientId}/marker`, 'end', { qos: 1 });
    await eventually(
      () => markerSeen,
      (seen) => seen,
      'the marker back',
    );
    assert.equal(pushes.length, 1, 'configuration pushes');
    assert.equal((await rows('device.configuration.sent')).length, 1, 'configuration push audit rows');
    await client.endAsync();

    const heapGrowth = retainedBytes() - heapBefore;
    t.diagnostic(`${fromFlood.length} birth rows and ${pushes.length} push for 501 births in ${elapsedMs} ms; heap +${heapGrowth} bytes`);
    assert.ok(heapGrowth < 4_000_000, `heap grew ${heapGrowth} bytes for 8 MB of births`);
    const recorded = await store.getDevice(accountId, clientId);
    assert.equal(recorded?.reportedConfigurationHash, applied, 'the device ends known by its last birth');
    assert.match(fixture.logText(), /births dropped: more than one per interval/);
  });

  it('still handles the birth of a device that reconnects within the interval, and marks it online', async () => {
    const device = await provisionDevice(fixture, 'flood-reconnect');
    const { accountId, clientId } = device.request;
    const connect = () =>
      connectAsync(`mqtts://localhost:${fixture.platform.accountBroker.mqttsPort}`, {
        protocolVersion: 4,
        reconnectPeriod: 0,
        clientId,
        ca: fixture.rootPem,
        cert: device.certPem,
        key: device.keyPem,
      });
    const applied = configurationHash(await readFile(join(device.stateDir, 'configuration.json'), 'utf8'));
    // The agent's birth, then three CONNECT + birth in quick succession: the third birth waits for its turn.
    for (let i = 0; i < 3; i += 1) {
      const client = await connect();
      await client.publishAsync(birthTopic('acme', clientId), paddedBirth(applied, 0), { qos: 1 });
      if (i < 2) await client.endAsync();
      else {
        await eventually(
          () => fixture.platform.store.getDevice(accountId, clientId),
          (record) => record?.online === true,
          'online after the held birth',
        );
        await client.endAsync();
      }
    }
  });
});

describe('a provisioning flood from one device', () => {
  const burst = 5;
  let fixture: TestPlatform;

  before(async () => {
    fixture = await startTestPlatform({ provisionMessageBurst: burst, provisionMessagesPerMinute: 60 });
  });
  after(() => fixture.close());

  async function deviceSession(clientId: string): Promise<{ client: MqttClient; replies: ReplyMessage[]; send(requestId: string): Promise<void> }> {
    const request = await createAccountAndRequest(fixture, clientId);
    const client = await fixture.connectProvision({ clientId, username: request.username, password: request.password });
    const replies: ReplyMessage[] = [];
    client.on('message', (_topic, payload) => replies.push(decodeReply(payload)));
    await client.subscribeAsync(replyFilter('provisioning', clientId), { qos: 1 });
    return {
      client,
      replies,
      // Another requester.client.id: a 400 that costs no attempt.
      send: (requestId) =>
        client
          .publishAsync(provisionRequestTopic('provisioning', clientId), encodeProvisionRequest({ requestId, requesterClientId: 'someone-else', device: {} }), {
            qos: 1,
          })
          .then(() => undefined),
    };
  }

  it(`Should answer 429 with retry.after.seconds past ${burst} messages, then nothing until that delay, and answer again after it`, async () => {
    const flooder = await deviceSession('flood-prov');
    const neighbour = await deviceSession('flood-neighbour');
    await Promise.all(Array.from({ length: 20 }, (_, i) => flooder.send(`flood-${i}`)));
    const refused = await eventually(
      () => flooder.replies.filter((reply) => reply.responseCode === 429),
      (found) => found.length >= 1,
      'a 429',
    );
    // Another device is not held back by it.
    await neighbour.send('neighbour-1');
    await eventually(
      () => neighbour.replies.map((reply) => reply.responseCode),
      (codes) => codes.includes(400),
      "the neighbour's answer",
    );

    const retryAfterSeconds = refused[0]!.retryAfterSeconds;
    assert.ok(retryAfterSeconds !== undefined && retryAfterSeconds >= 1, `retry.after.seconds ${retryAfterSeconds}`);
    assert.match(refused[0]!.message ?? '', /^OVERLOADED: /);
    // The device does what the reply says: waits retry.after.seconds, then sends again.
    await new Promise((resolve) => setTimeout(resolve, retryAfterSeconds! * 1000));
    await flooder.send('after-the-delay');
    await eventually(
      () => flooder.replies.some((reply) => reply.requestId === 'after-the-delay'),
      (seen) => seen,
      'an answer after the delay',
    );

    const codes = flooder.replies.filter((reply) => reply.requestId.startsWith('flood-')).map((reply) => reply.responseCode);
    assert.deepEqual(
      codes.sort((a, b) => a - b),
      [...Array<number>(burst).fill(400), 429],
      `${burst} answered, one 429, the other ${20 - burst - 1} not answered`,
    );
    assert.equal(flooder.replies.find((reply) => reply.requestId === 'after-the-delay')?.responseCode, 400);
    await Promise.all([flooder.client.endAsync(), neighbour.client.endAsync()]);
  });
});
