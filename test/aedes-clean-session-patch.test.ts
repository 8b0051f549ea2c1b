import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';

/**
 * patches/aedes+1.2.0.patch (applied by `npm ci` through patch-package) changes how aedes clears
 * the outgoing queue at a clean-session CONNECT (docs/BENCHMARKS.md). What a client sees must
 * not change: [MQTT-3.1.2-6] a clean session gets nothing queued for an earlier session, and
 * that queue is gone for good.
 */
/**
 * aedes' own in-memory persistence, but answering outgoingStream with an async generator instead
 * of a Readable, as aedes-persistence-redis 11 does (the platform wraps that one in
 * broker/clean-session-persistence.ts; the patch must not depend on the wrapper).
 */
async function generatorQueuePersistence(): Promise<unknown> {
  const { default: memoryPersistence } = (await import('aedes-persistence')) as unknown as {
    default: () => { outgoingStream(client: unknown): AsyncIterable<unknown> };
  };
  const persistence = memoryPersistence();
  const readableQueue = persistence.outgoingStream.bind(persistence);
  persistence.outgoingStream = (client) =>
    (async function* () {
      yield* readableQueue(client);
    })();
  return persistence;
}

for (const [persistenceName, makePersistence] of [
  ['a Readable queue (aedes-persistence)', async () => undefined],
  ['an async-generator queue (as aedes-persistence-redis 11 answers)', generatorQueuePersistence],
] as const)
  describe(`aedes with the clean-session patch, ${persistenceName}`, () => {
    let broker: Aedes;
    let server: Server;
    let url: string;
    const clients: MqttClient[] = [];

    before(async () => {
      const persistence = await makePersistence();
      broker = await Aedes.createBroker(persistence === undefined ? {} : ({ persistence } as Parameters<typeof Aedes.createBroker>[0]));
      server = createServer((socket) => broker.handle(socket));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    after(async () => {
      await Promise.all(clients.map((client) => client.endAsync(true)));
      server.close();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    });

    async function connect(clientId: string, clean: boolean): Promise<{ client: MqttClient; sessionPresent: boolean; received: string[] }> {
      const client = mqtt.connect(url, { clientId, clean, reconnectPeriod: 0, protocolVersion: 4 });
      clients.push(client);
      const received: string[] = [];
      client.on('message', (_topic, payload) => received.push(payload.toString()));
      const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
        client.once('connect', resolve);
        client.once('error', reject);
      });
      return { client, sessionPresent: connack.sessionPresent, received };
    }

    /** A persistent session subscribed at QoS 1 goes offline; two messages are queued for it. */
    async function queueTwoMessagesFor(clientId: string): Promise<void> {
      const device = await connect(clientId, false);
      await device.client.subscribeAsync(`queued/${clientId}`, { qos: 1 });
      await device.client.endAsync();
      const publisher = await connect(`${clientId}-publisher`, true);
      await publisher.client.publishAsync(`queued/${clientId}`, 'one', { qos: 1 });
      await publisher.client.publishAsync(`queued/${clientId}`, 'two', { qos: 1 });
      await publisher.client.endAsync();
    }

    it('is applied (npm ci runs patch-package)', () => {
      const connectHandler = createRequire(import.meta.url)
        .resolve('aedes')
        .replace(/aedes\.js$/, 'lib/handlers/connect.js');
      assert.match(readFileSync(connectHandler, 'utf8'), /provisio patch/);
    });

    it('delivers the queued messages to the persistent session that reconnects (the reference point)', async () => {
      await queueTwoMessagesFor('persistent-device');
      const again = await connect('persistent-device', false);
      assert.equal(again.sessionPresent, true);
      for (let i = 0; i < 100 && again.received.length < 2; i++) await sleep(20);
      assert.deepEqual(again.received.sort(), ['one', 'two']);
    });

    /**
     * What `session` received up to a marker sent on the queued topic after it connected. aedes
     * writes a session's queued messages right after its CONNACK, before it reads the session's
     * SUBSCRIBE, so on this one connection anything queued would come before the marker.
     */
    async function receivedBeforeMarker(clientId: string, session: { client: MqttClient; received: string[] }): Promise<string[]> {
      const markerSeen = new Promise<void>((resolve) => session.client.on('message', (_topic, payload) => payload.toString() === 'marker' && resolve()));
      await session.client.subscribeAsync(`queued/${clientId}`, { qos: 1 });
      const publisher = await connect(`${clientId}-marker`, true);
      await publisher.client.publishAsync(`queued/${clientId}`, 'marker', { qos: 1 });
      await publisher.client.endAsync();
      await markerSeen;
      return session.received.slice(0, session.received.indexOf('marker'));
    }

    it('gives a clean session nothing of the earlier one, and leaves nothing for a later one', async () => {
      await queueTwoMessagesFor('reset-device');
      const clean = await connect('reset-device', true);
      assert.equal(clean.sessionPresent, false);
      assert.deepEqual(await receivedBeforeMarker('reset-device', clean), []);
      await clean.client.endAsync();

      const persistentAgain = await connect('reset-device', false);
      assert.equal(persistentAgain.sessionPresent, false);
      assert.deepEqual(await receivedBeforeMarker('reset-device', persistentAgain), [], 'the queue was cleared, not kept');
    });
  });
