/**
 * Malformed MQTT input for test/fuzz-mqtt.test.ts: valid packets made by mqtt-packet (the parser
 * aedes itself uses, a dependency of aedes and mqtt), then truncated, mutated or replaced by noise.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { connectBytes } from './connections-from.ts';
import { randomBytesFrom, randomInt } from './security-kit.ts';

export interface Credentials {
  readonly clientId: string;
  readonly username: string;
  readonly password: string;
}

export function connectPacket(credentials: Credentials): Buffer {
  return connectBytes(credentials.clientId, credentials.username, credentials.password);
}

function randomTopic(next: () => number, clientId: string): string {
  const topics = [
    `$EDC/provisioning/${clientId}/PROV-V1/EXEC/provision`,
    `$EDC/provisioning/${clientId}/x`,
    '#',
    '$SYS/x',
    'a/+/b',
    '',
    `$EDC/provisioning/other/x`,
  ];
  return topics[randomInt(next, topics.length)]!;
}

/** A valid packet a connected client may send (or try to). */
export function sessionPacket(next: () => number, clientId: string): Buffer {
  switch (randomInt(next, 5)) {
    case 0:
      return mqttPacket.generate({
        cmd: 'publish',
        topic: randomTopic(next, clientId) || 'x',
        payload: randomBytesFrom(next, randomInt(next, 300)),
        qos: 1,
        messageId: 1 + randomInt(next, 65535),
        retain: false,
        dup: false,
      });
    case 1:
      return mqttPacket.generate({
        cmd: 'publish',
        topic: randomTopic(next, clientId) || 'x',
        payload: JSON.stringify({ sentOn: 1, metrics: { 'request.id': 'fz', 'requester.client.id': clientId } }),
        qos: 0,
        retain: false,
        dup: false,
      });
    case 2:
      return mqttPacket.generate({
        cmd: 'subscribe',
        messageId: 1 + randomInt(next, 65535),
        subscriptions: [{ topic: randomTopic(next, clientId) || '#', qos: 1 }],
      });
    case 3:
      return mqttPacket.generate({ cmd: 'unsubscribe', messageId: 1 + randomInt(next, 65535), unsubscriptions: [randomTopic(next, clientId) || '#'] });
    default:
      return mqttPacket.generate({ cmd: 'pingreq' });
  }
}

export function truncate(next: () => number, packet: Buffer): Buffer {
  return packet.subarray(0, randomInt(next, packet.length));
}

export function mutate(next: () => number, packet: Buffer): Buffer {
  const copy = Buffer.from(packet);
  const flips = 1 + randomInt(next, 5);
  for (let i = 0; i < flips && copy.length > 0; i += 1) copy[randomInt(next, copy.length)] = randomInt(next, 256);
  return copy;
}

/** MQTT's variable-length "remaining length" (up to 268,435,455). */
export function remainingLength(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    bytes.push(byte);
  } while (rest > 0);
  return Buffer.from(bytes);
}

/** A fixed header announcing a packet of `length` bytes: type 1 CONNECT or type 3 PUBLISH. */
export function oversizedHeader(type: 'connect' | 'publish', length: number): Buffer {
  return Buffer.concat([Buffer.from([type === 'connect' ? 0x10 : 0x30]), remainingLength(length)]);
}

export interface Target {
  readonly transport: 'tcp' | 'tls';
  readonly port: number;
  readonly ca: string;
}

export function openSocket(target: Target): Socket {
  return target.transport === 'tcp'
    ? tcpConnect({ host: '127.0.0.1', port: target.port })
    : tlsConnect({ host: '127.0.0.1', port: target.port, servername: 'localhost', ca: target.ca });
}

/**
 * How a connection ended, seen from the client. 'server': the server closed it (its FIN, or a reset:
 * ECONNRESET, or EPIPE when we wrote after it had gone). 'client': something failed on our side
 * (refused, TLS handshake, a local exception), which says nothing about the server. 'open': still
 * open when we stopped waiting.
 */
export type Ending = { readonly by: 'server'; readonly how: string } | { readonly by: 'client'; readonly error: string } | { readonly by: 'open' };

const serverCloseCodes = new Set(['ECONNRESET', 'EPIPE']);

/** What a connection got back: how it ended and every byte the server wrote to it. */
export interface Exchange {
  readonly ending: Ending;
  readonly received: Buffer;
}

/**
 * A fresh connection to `target`, watched: `ended` settles with the first sign of its end
 * (`stop()` ends the wait: 'open' if nothing came first) and the bytes the server wrote meanwhile.
 */
export function watchedSocket(target: Target): { socket: Socket; ended: Promise<Exchange>; stop(): void } {
  const socket = openSocket(target);
  const chunks: Buffer[] = [];
  let settle: (ending: Ending) => void = () => undefined;
  const ended = new Promise<Exchange>((resolve) => {
    let done = false;
    settle = (ending) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ ending, received: Buffer.concat(chunks) });
    };
  });
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('end', () => settle({ by: 'server', how: 'end' }));
  socket.on('error', (error: NodeJS.ErrnoException) => {
    const code = error.code ?? error.message;
    settle(serverCloseCodes.has(code) ? { by: 'server', how: code } : { by: 'client', error: code });
  });
  // A close without 'end' or 'error' first: the server went (we only destroy after settling).
  socket.on('close', () => settle({ by: 'server', how: 'close' }));
  return { socket, ended, stop: () => settle({ by: 'open' }) };
}

/** Sends `bytes` on a fresh connection; resolves when the connection ends or after `lingerMs`. */
export function sendAndLinger(target: Target, bytes: Buffer, lingerMs: number): Promise<Exchange> {
  const { socket, ended, stop } = watchedSocket(target);
  const timer = setTimeout(stop, lingerMs);
  socket.once(target.transport === 'tls' ? 'secureConnect' : 'connect', () => socket.write(bytes));
  return ended.finally(() => clearTimeout(timer));
}

/** Server to client packet types (MQTT 3.1.1, 2.2.1): the only ones a broker may write. */
const serverPacketTypes = new Set(['connack', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'suback', 'unsuback', 'pingresp']);

/**
 * The packets in what a broker wrote back, parsed by mqtt-packet. `problem` says what is wrong with
 * the bytes as an MQTT 3.1.1 server's output: unparseable, a client packet, a packet cut short,
 * or anything before or besides a single CONNACK first.
 */
export function serverPackets(received: Buffer): { packets: Packet[]; problem: string | null } {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: Packet[] = [];
  let problem: string | null = null;
  parser.on('packet', (packet: Packet) => packets.push(packet));
  parser.on('error', (error: Error) => (problem ??= `unparseable: ${error.message}`));
  const left = received.length > 0 ? parser.parse(received) : 0;
  if (problem === null && left > 0) problem = `${left} bytes of a packet cut short`;
  const types = packets.map((packet) => packet.cmd);
  if (problem === null && types.some((type) => !serverPacketTypes.has(type))) problem = `a packet a server never sends: ${types.join(', ')}`;
  if (problem === null && types.length > 0 && types[0] !== 'connack') problem = `${types[0]} before any CONNACK`;
  if (problem === null && types.filter((type) => type === 'connack').length > 1) problem = 'more than one CONNACK';
  return { packets, problem };
}

/** Heap plus array buffers after a full GC: what the process really holds on to. */
export function retainedBytes(): number {
  collectGarbage();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

let gc: (() => void) | null = null;
function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  gc();
}
