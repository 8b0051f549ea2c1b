import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Aedes } from 'aedes';
import { connectAsync, type MqttClient } from 'mqtt';
import { installBrokerHooks } from '../broker/aedes-hooks.ts';
import { listenMqtt, type MqttListener } from '../broker/listeners.ts';
import type { RetainedSource } from '../broker/retained-limits.ts';
import { brokerBackends, closeBrokerBackends } from '../broker/shared-state.ts';
import { silentLog } from './support/ca-test-kit.ts';
import { createAccountAndRequest, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { requireRedisOrSkip, startRedisOrSkip } from '../dev-support/redis-server.ts';
import { eventually, provisionDevice, type ProvisionedDevice } from './support/security-kit.ts';

/**
 * Issue 12 §3, retained messages: a device with factory credentials alone published 1,000 retained
 * messages of 60 KB on each broker, and all of them were kept and redelivered. Now the provision
 * broker refuses every retained PUBLISH, and the account broker keeps at most
 * PROVISIO_RETAINED_MESSAGES_PER_DEVICE messages and PROVISIO_RETAINED_BYTES_PER_DEVICE bytes per
 * device and PROVISIO_RETAINED_BYTES_TOTAL bytes in all; a retained PUBLISH beyond them closes the
 * connection like any refused PUBLISH (docs/PROTOCOL.md §2, §10). A deletion is always accepted.
 */

/** Publishes at QoS 1 with the retain flag: 'accepted' (PUBACK) or 'closed' (the broker closed the connection). */
function retainedOutcome(client: MqttClient, topic: string, payload: string | Buffer): Promise<'accepted' | 'closed'> {
  return new Promise((resolve) => {
    const onClose = (): void => resolve('closed');
    client.once('close', onClose);
    client.publish(topic, payload, { qos: 1, retain: true }, (error) => {
      client.off('close', onClose);
      resolve(error ? 'closed' : 'accepted');
    });
  });
}

/** What the broker's persistence holds under these patterns: topic → payload length. */
async function storedRetained(aedes: Aedes, patterns: string[]): Promise<Map<string, number>> {
  const stored = new Map<string, number>();
  const persistence = (aedes as unknown as { persistence: RetainedSource }).persistence;
  for await (const packet of persistence.createRetainedStreamCombi(patterns)) stored.set(packet.topic, packet.payload.length);
  return stored;
}

const bytes = (length: number): Buffer => Buffer.alloc(length, 0x61);

describe('retained messages on the platform', () => {
  const perDevice = 3;
  const bytesPerDevice = 4_096;
  const bytesTotal = 8_000;
  let fixture: TestPlatform;
  let devices: ProvisionedDevice[];

  before(async () => {
    fixture = await startTestPlatform({ retainedMessagesPerDevice: perDevice, retainedBytesPerDevice: bytesPerDevice, retainedBytesTotal: bytesTotal });
    devices = [];
    for (const clientId of ['retain-a', 'retain-b', 'retain-c']) devices.push(await provisionDevice(fixture, clientId));
  });
  after(() => fixture.close());

  function accountClient(device: ProvisionedDevice): Promise<MqttClient> {
    return connectAsync(`mqtts://localhost:${fixture.platform.accountBroker.mqttsPort}`, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      clientId: device.request.clientId,
      ca: fixture.rootPem,
      cert: device.certPem,
      key: device.keyPem,
    });
  }

  it('Should close the connection on a retained PUBLISH to the provision broker, an empty one (a deletion) included, and keep nothing', async () => {
    const request = await createAccountAndRequest(fixture, 'retain-prov');
    const credentials = { clientId: request.clientId, username: request.username, password: request.password };
    const topic = '$EDC/provisioning/retain-prov/status';
    for (const [payload, transport] of [
      [bytes(60_000), 'tcp'],
      ['', 'tcp'],
      ['online', 'tls'],
    ] as const) {
      const client = await fixture.connectProvision({ ...credentials, tcp: transport === 'tcp' });
      assert.equal(await retainedOutcome(client, topic, payload), 'closed', `${payload.length} bytes retained over ${transport}`);
      client.end(true);
    }
    // The same device, not retaining: accepted (a refused PUBLISH costs the connection, nothing more).
    const plain = await fixture.connectProvision(credentials);
    await plain.publishAsync(topic, 'not retained', { qos: 1 });
    await plain.endAsync();
    assert.deepEqual([...(await storedRetained(fixture.platform.provisionBroker.aedes, ['#', '$EDC/#'])).keys()], []);
    assert.match(fixture.logText(), /publish refused: this broker keeps no retained messages/);
  });

  it('keeps at most the retained messages of a device its bounds allow, redelivers those, and always accepts a deletion', async () => {
    const device = devices[0]!;
    const topics = ['$EDC/acme/retain-a/r1', '$EDC/acme/retain-a/r2', 'acme/retain-a/r3', 'acme/retain-a/r4'];
    let client = await accountClient(device);
    for (const topic of topics.slice(0, 3)) assert.equal(await retainedOutcome(client, topic, bytes(1_000)), 'accepted', topic);
    assert.equal(await retainedOutcome(client, topics[3]!, bytes(1)), 'closed', `a retained message beyond ${perDevice}`);

    client = await accountClient(device);
    assert.equal(await retainedOutcome(client, topics[0]!, bytes(900)), 'accepted', 'replacing one it holds');
    assert.equal(await retainedOutcome(client, topics[1]!, ''), 'accepted', 'a deletion');
    assert.equal(await retainedOutcome(client, topics[1]!, ''), 'accepted', 'a deletion of nothing');
    assert.equal(await retainedOutcome(client, topics[3]!, bytes(1_000)), 'accepted', 'a new one in the place freed');
    assert.equal(await retainedOutcome(client, topics[3]!, bytes(bytesPerDevice)), 'closed', `over ${bytesPerDevice} bytes for the device`);

    // A new subscriber gets exactly what is kept, retained.
    client = await accountClient(device);
    const received = new Map<string, number>();
    client.on('message', (topic, payload, packet) => {
      if (packet.retain) received.set(topic, payload.length);
    });
    await client.subscribeAsync(['$EDC/acme/retain-a/#', 'acme/retain-a/#'], { qos: 1 });
    const expected = new Map([
      [topics[0]!, 900],
      [topics[2]!, 1_000],
      [topics[3]!, 1_000],
    ]);
    await eventually(
      () => received.size,
      (size) => size >= expected.size,
      'retained messages redelivered',
    );
    assert.deepEqual(received, expected);
    await client.endAsync();
    assert.deepEqual(await storedRetained(fixture.platform.accountBroker.aedes, ['$EDC/acme/retain-a/#', 'acme/retain-a/#']), expected);
  });

  it(`Should refuse a retained PUBLISH that would take all devices over ${bytesTotal} bytes`, async () => {
    // retain-a holds 2,953 bytes (previous case: topic plus payload); each message here is 1,016.
    const clientB = await accountClient(devices[1]!);
    for (const n of [1, 2, 3]) assert.equal(await retainedOutcome(clientB, `acme/retain-b/r${n}`, bytes(1_000)), 'accepted');
    await clientB.endAsync();
    const clientC = await accountClient(devices[2]!);
    assert.equal(await retainedOutcome(clientC, 'acme/retain-c/r1', bytes(1_000)), 'accepted');
    assert.equal(await retainedOutcome(clientC, 'acme/retain-c/r2', bytes(1_000)), 'closed', 'the total would pass its bound');
    const again = await accountClient(devices[2]!);
    assert.equal(await retainedOutcome(again, 'acme/retain-c/r1', ''), 'accepted', 'deleting still works at the bound');
    await again.endAsync();
    assert.match(fixture.logText(), /"limit":"RETAINED_BYTES_TOTAL","msg":"publish refused: retained messages over their limit"/);
  });
});

describe('retained messages on brokers sharing Redis', () => {
  let server: Awaited<ReturnType<typeof startRedisOrSkip>>;
  before(async () => {
    server = await startRedisOrSkip();
  });
  after(() => server?.stop());

  /** An account-broker-like aedes on the shared Redis state: every clientId is a device of account acme. */
  async function brokerOnRedis(redisUrl: string, keyPrefix: string): Promise<{ aedes: Aedes; listener: MqttListener; close(): Promise<void> }> {
    const config = { brokerSharedState: 'redis', brokerCleanSessionsInRedis: false, redisUrl, redisKeyPrefix: keyPrefix } as const;
    const backends = brokerBackends(config, 'account', silentLog)!;
    const aedes = await Aedes.createBroker({ id: `retain-${randomUUID()}`, persistence: backends.persistence, mq: backends.mq });
    installBrokerHooks(aedes, {
      broker: 'account',
      maxMessageBytes: 65_536,
      retained: { messagesPerDevice: 2, bytesPerDevice: 10_000, bytesTotal: 100_000 },
      log: silentLog,
      authenticate: async (attempt) => ({ kind: 'device', account: 'acme', clientId: attempt.clientId, namespaces: [`acme/${attempt.clientId}/`] }),
    });
    const listener = await listenMqtt(aedes, { host: '127.0.0.1', port: 0, limits: { perAddress: 100, connectTimeoutMs: 10_000, log: silentLog } });
    return {
      aedes,
      listener,
      async close() {
        await listener.close();
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
        await closeBrokerBackends(backends);
      },
    };
  }

  it('counts what a device already holds in Redis when it comes to another broker process', async (t) => {
    if (!requireRedisOrSkip(t, server)) return;
    const keyPrefix = `test:${randomUUID()}:`;
    const first = await brokerOnRedis(server.url, keyPrefix);
    const second = await brokerOnRedis(server.url, keyPrefix);
    t.after(() => Promise.all([first.close(), second.close()]));
    const connect = (port: number): Promise<MqttClient> =>
      connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, reconnectPeriod: 0, clientId: 'moving' });

    const onFirst = await connect(first.listener.port);
    assert.equal(await retainedOutcome(onFirst, 'acme/moving/a', 'one'), 'accepted');
    assert.equal(await retainedOutcome(onFirst, 'acme/moving/b', 'two'), 'accepted');
    await onFirst.endAsync();
    await eventually(
      () => storedRetained(second.aedes, ['acme/moving/#']),
      (stored) => stored.size === 2,
      'both stored in Redis',
    );

    let onSecond = await connect(second.listener.port);
    assert.equal(await retainedOutcome(onSecond, 'acme/moving/c', 'three'), 'closed', 'the second process knows the two held in Redis');
    onSecond = await connect(second.listener.port);
    assert.equal(await retainedOutcome(onSecond, 'acme/moving/a', 'one again'), 'accepted', 'replacing one held');
    assert.equal(await retainedOutcome(onSecond, 'acme/moving/b', ''), 'accepted', 'deleting one held');
    assert.equal(await retainedOutcome(onSecond, 'acme/moving/c', 'three'), 'accepted', 'in the place freed');
    await onSecond.endAsync();
    assert.deepEqual(
      await storedRetained(first.aedes, ['acme/moving/#']),
      new Map([
        ['acme/moving/a', 9],
        ['acme/moving/c', 5],
      ]),
    );
  });
});
