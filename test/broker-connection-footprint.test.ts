import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect, createServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { Aedes } from 'aedes';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { installBrokerHooks } from '../broker/aedes-hooks.ts';
import { releaseNumberCache } from '../broker/connection-footprint.ts';
import { listenMqtt, packetLimitFor, type MqttListener } from '../broker/listeners.ts';
import { openTestCa, removeTemporaryDirectories, silentLog, temporaryDirectory } from './support/ca-test-kit.ts';
import { retainedBytes } from './support/fuzz-mqtt-packets.ts';

/**
 * Issue 6: what an idle connection costs the broker, and that the savings change nothing a client
 * sees: however its bytes are split, over TCP and TLS. A broker of our hooks and listeners on aedes,
 * no store: every clientId is a device of account `acme`.
 */
/** From TCP accept to CONNECT answered, TLS handshake included (broker/connect-deadline.ts). */
const connectTimeoutMs = 3_000;
/** The idle-memory case opens 1,000 connections from 127.0.0.1: the per-address limit is raised for it, knowingly. */
const limits = { perAddress: 10_000, connectTimeoutMs, log: silentLog };
const maxMessageBytes = 256 * 1024;
const bigPayload = Buffer.alloc(200_000, 0x61);
/**
 * Measured 5.2–5.4 KB per connection with this broker (aedes 1.2, Node 20), and 6.7 KB while aedes'
 * parser kept its stream and the CONNECT packet (broker/connection-footprint.ts).
 */
const heapLimitBytes = 6_000;

interface Session {
  /** The first packet of this type received and not yet taken. */
  next(cmd: string, timeoutMs?: number): Promise<Packet>;
}

/** Collects what the broker sends, parsed by mqtt-packet (the parser aedes uses). */
function collect(socket: Socket): Session {
  const parser = mqttPacket.parser();
  const packets: Packet[] = [];
  parser.on('packet', (packet: Packet) => packets.push(packet));
  socket.on('data', (chunk: Buffer) => parser.parse(chunk));
  return {
    async next(cmd, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = packets.findIndex((packet) => packet.cmd === cmd);
        if (index >= 0) return packets.splice(index, 1)[0]!;
        if (Date.now() > deadline) throw new Error(`no ${cmd} within ${timeoutMs} ms (got ${packets.map((p) => p.cmd).join(', ')})`);
        await sleep(10);
      }
    },
  };
}

function connectBytes(clientId: string): Buffer {
  return mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    keepalive: 0,
    clientId,
    username: 'u',
    password: Buffer.from('p'),
  });
}

function subscribeBytes(topic: string): Buffer {
  return mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 0 }] });
}

function publishBytes(topic: string, payload: Buffer): Buffer {
  return mqttPacket.generate({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false });
}

async function writeInPieces(socket: Socket, bytes: Buffer, size: number): Promise<void> {
  for (let offset = 0; offset < bytes.length; offset += size) {
    socket.write(bytes.subarray(offset, offset + size));
    await sleep(1);
  }
}

/** Connects, subscribes to its own topic, publishes small and large messages split oddly, and expects them all back. */
async function roundTrip(socket: Socket, clientId: string): Promise<void> {
  const session = collect(socket);
  const topic = `$EDC/acme/${clientId}/echo`;
  await writeInPieces(socket, Buffer.concat([connectBytes(clientId), subscribeBytes(topic)]), 1);
  assert.equal(((await session.next('connack')) as Packet & { returnCode: number }).returnCode, 0);
  assert.deepEqual(((await session.next('suback')) as Packet & { granted: number[] }).granted, [0]);
  // Three packets in one write, then one of 200 KB in uneven pieces.
  socket.write(Buffer.concat(['one', 'two', 'three'].map((word) => publishBytes(topic, Buffer.from(word)))));
  await writeInPieces(socket, publishBytes(topic, bigPayload), 70_001);
  const received: string[] = [];
  for (let i = 0; i < 4; i += 1) {
    const { payload } = (await session.next('publish')) as Packet & { payload: Buffer };
    received.push(payload.equals(bigPayload) ? 'the 200 KB payload' : payload.toString().slice(0, 20));
  }
  assert.deepEqual(received, ['one', 'two', 'three', 'the 200 KB payload']);
}

/**
 * Opens `count` idle sessions from a worker thread (its own heap, so that this thread's heap holds
 * only the broker's side) and keeps them until told to close them.
 */
async function idleSessionsFromWorker(port: number, count: number): Promise<{ close(): Promise<void> }> {
  const worker = new Worker(
    `
    const net = require('node:net');
    const { parentPort, workerData } = require('node:worker_threads');
    const sockets = [];
    let open = 0;
    for (let i = 0; i < workerData.connects.length; i += 1) {
      const socket = net.connect(workerData.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.once('data', (chunk) => {
        if (chunk[0] !== 0x20 || chunk[3] !== 0) throw new Error('no CONNACK 0');
        if (++open === workerData.connects.length) parentPort.postMessage('open');
      });
      socket.write(Buffer.from(workerData.connects[i]));
      sockets.push(socket);
    }
    parentPort.on('message', () => {
      for (const socket of sockets) socket.destroy();
      parentPort.postMessage('closed');
    });
    `,
    { eval: true, workerData: { port, connects: Array.from({ length: count }, (_, i) => connectBytes(`dev-idle-${i}`)) } },
  );
  await once(worker, 'message');
  return {
    async close() {
      worker.postMessage('close');
      await once(worker, 'message');
      await worker.terminate();
    },
  };
}

/** A TCP proxy that forwards the client's bytes a few at a time, so the ClientHello arrives in pieces. */
async function tricklingProxy(targetPort: number): Promise<Server> {
  const server = createServer((client) => {
    const upstream = tcpConnect(targetPort, '127.0.0.1');
    let chain = Promise.resolve();
    client.on('data', (chunk: Buffer) => {
      chain = chain.then(() => writeInPieces(upstream, chunk, chunk.length > 4_000 ? 4_000 : 5));
    });
    upstream.pipe(client);
    const stop = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', stop).on('close', stop);
    upstream.on('error', stop).on('close', stop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function portOf(server: Server): number {
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return address.port;
}

function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));
}

describe('broker listeners: idle connections, and every byte still delivered', () => {
  let broker: Aedes;
  let tcp: MqttListener;
  let tls: MqttListener;
  let rootPem: string;

  before(async () => {
    const ca = await openTestCa(await temporaryDirectory());
    rootPem = ca.rootCertificatePem;
    releaseNumberCache();
    broker = await Aedes.createBroker({ connectTimeout: 5_000 });
    installBrokerHooks(broker, {
      broker: 'provision',
      maxMessageBytes,
      retained: 'refuse',
      log: silentLog,
      authenticate: async (attempt) => ({ kind: 'device', account: 'acme', clientId: attempt.clientId, namespaces: [`$EDC/acme/${attempt.clientId}/`] }),
    });
    const maxPacketBytes = packetLimitFor(maxMessageBytes);
    tcp = await listenMqtt(broker, { host: '127.0.0.1', port: 0, maxPacketBytes, limits });
    tls = await listenMqtt(broker, {
      host: '127.0.0.1',
      port: 0,
      maxPacketBytes,
      limits,
      tls: { cert: ca.serverCredentials.certPem, key: ca.serverCredentials.keyPem },
    });
  });

  after(async () => {
    await Promise.all([tcp.close(), tls.close()]);
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await removeTemporaryDirectories();
  });

  it('delivers MQTT over TCP sent a byte at a time, three packets in one write, and 200 KB in pieces', async () => {
    const socket = tcpConnect(tcp.port, '127.0.0.1');
    await roundTrip(socket, 'dev-tcp-pieces');
    socket.destroy();
  });

  it('completes a TLS handshake whose ClientHello arrives a few bytes at a time, then carries the same traffic', async () => {
    const proxy = await tricklingProxy(tls.port);
    try {
      const socket = tlsConnect({ host: '127.0.0.1', port: portOf(proxy), ca: rootPem, servername: 'provisio.example.test' });
      await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
      await roundTrip(socket, 'dev-tls-pieces');
      socket.destroy();
    } finally {
      proxy.close();
    }
  });

  it('Should close a TLS connection that never sends its ClientHello, after the connect timeout', async () => {
    const silent = tcpConnect(tls.port, '127.0.0.1');
    silent.on('error', () => undefined);
    const started = Date.now();
    await Promise.race([closed(silent), sleep(connectTimeoutMs + 3_000).then(() => assert.fail('still open'))]);
    assert.ok(Date.now() - started >= connectTimeoutMs - 50, `closed after ${Date.now() - started} ms`);
  });

  it('Should drop plain MQTT sent to the TLS port, and stay up', async () => {
    const plain = tcpConnect(tls.port, '127.0.0.1');
    plain.on('error', () => undefined);
    plain.write(connectBytes('dev-plain-on-tls'));
    await closed(plain);
    const socket = tlsConnect({ host: '127.0.0.1', port: tls.port, ca: rootPem, servername: 'provisio.example.test' });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    socket.destroy();
  });

  it(`Should hold at most ${heapLimitBytes} bytes of heap per idle authenticated connection`, async () => {
    const count = 1_000;
    const warmUp = await idleSessionsFromWorker(tcp.port, 50); // code paths compiled, caches built
    await warmUp.close();
    // The heap after a forced GC still moves by a few hundred KB from run to run (seen on Node 24:
    // 6,379 once, under 6,000 in every other run): up to three measurements, the lowest counts. A
    // real regression (what this guards: the savings of issue 6) is above the limit in all three.
    const measured: number[] = [];
    for (let round = 0; round < 3 && !measured.some((bytes) => bytes <= heapLimitBytes); round += 1) {
      await sleep(200);
      const before = retainedBytes();
      const sessions = await idleSessionsFromWorker(tcp.port, count);
      await sleep(200);
      measured.push((retainedBytes() - before) / count);
      await sessions.close();
    }
    const perConnection = Math.min(...measured);
    assert.ok(perConnection <= heapLimitBytes, `${measured.map(Math.round).join(', ')} bytes of heap per idle connection`);
  });
});
