import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Aedes } from 'aedes';
import { Redis } from 'ioredis';
import { connectAsync, type MqttClient } from 'mqtt';
import { bridgeProvisionMessagesToStream } from '../broker/provision-stream-bridge.ts';
import { decodeStreamFields, provisionStreamKey } from '../cluster/provision-stream.ts';
import { createLogger } from '../log/logger.ts';
import { provisionRequestTopic } from '../protocol/topics.ts';
import { requireRedisOrSkip, startRedisOrSkip, type RedisServer } from '../dev-support/redis-server.ts';

/**
 * Issue 20 §2, cluster mode: one device publishing in a loop must not crowd the other devices'
 * messages out of the shared provision stream (trimmed to a length). The broker queues at most
 * `perClientPerSecond` messages of one clientId per second and drops the rest.
 */
describe('the provision stream bridge bounds what one device queues', () => {
  let redis: RedisServer | null;
  let reader: Redis;
  let broker: Aedes;
  let server: Server;
  let url: string;
  const clients: MqttClient[] = [];
  const prefix = 'bridge-test:';

  before(async () => {
    redis = await startRedisOrSkip();
    if (!redis) return;
    reader = new Redis(redis.url);
    broker = await Aedes.createBroker();
    bridgeProvisionMessagesToStream(broker, {
      redis: reader,
      redisKeyPrefix: prefix,
      provisioningAccount: 'provisioning',
      maxLength: 100_000,
      perClientPerSecond: 10,
      log: createLogger('silent'),
    });
    server = createServer((socket) => broker.handle(socket));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    if (!redis) return;
    await Promise.all(clients.map((client) => client.endAsync(true)));
    server.close();
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    reader.disconnect();
    await redis.stop();
  });

  async function device(clientId: string): Promise<MqttClient> {
    const client = await connectAsync(url, { clientId, clean: true, reconnectPeriod: 0, protocolVersion: 4 });
    clients.push(client);
    return client;
  }

  /** The clientIds of the queued entries, once the marker's entry is there (XADDs run in order). */
  async function queuedUntil(markerClientId: string): Promise<string[]> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const entries = (await reader.xrangeBuffer(provisionStreamKey(prefix), '-', '+')) as [Buffer, Buffer[]][];
      const clientIds = entries.map(([, fields]) => decodeStreamFields(fields)?.topic.split('/')[2] ?? '?');
      if (clientIds.includes(markerClientId)) return clientIds;
      assert.ok(Date.now() < deadline, 'the marker reached the stream');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('Should queue at most the per-second limit of a flooding device, and the other devices still', async (t) => {
    if (!requireRedisOrSkip(t, redis)) return;
    const flooder = await device('flooder');
    const quiet = await device('quiet');
    const payload = Buffer.from('{"sentOn":1,"metrics":{"request.id":"x","requester.client.id":"flooder"}}');
    const started = Date.now();
    await Promise.all(Array.from({ length: 300 }, () => flooder.publishAsync(provisionRequestTopic('provisioning', 'flooder'), payload, { qos: 1 })));
    const floodSeconds = Math.ceil((Date.now() - started + 1) / 1000);
    await quiet.publishAsync(provisionRequestTopic('provisioning', 'quiet'), payload, { qos: 1 });
    const queued = await queuedUntil('quiet');
    const fromFlooder = queued.filter((clientId) => clientId === 'flooder').length;
    assert.ok(fromFlooder >= 10, `the first ${fromFlooder} of the flood are queued`);
    assert.ok(fromFlooder <= 10 * (floodSeconds + 1), `${fromFlooder} queued of 300 in about ${floodSeconds} s`);
    assert.equal(queued.filter((clientId) => clientId === 'quiet').length, 1);
  });
});
