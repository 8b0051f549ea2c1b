/**
 * Malformed MQTT input for test/fuzz-mqtt.test.ts: valid packets made by mqtt-packet (the parser
 * aedes itself uses, a dependency of aedes and mqtt), then truncated, mutated or replaced by noise.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import mqttPacket from 'mqtt-packet';
import { randomBytesFrom, randomInt } from './security-kit.ts';

export interface Credentials {
  readonly clientId: string;
  readonly username: string;
  readonly password: string;
}

export function connectPacket(credentials: Credentials): Buffer {
  return mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    keepalive: 30,
    clientId: credentials.clientId,
    username: credentials.username,
    password: Buffer.from(credentials.password),
  });
}

function randomTopic(next: () => number, clientId: string): string {
  const topics = [`$EDC/provisioning/${clientId}/PROV-V1/EXEC/provision`, `$EDC/provisioning/${clientId}/x`, '#', '$SYS/x', 'a/+/b', '', `$EDC/provisioning/other/x`];
  return topics[randomInt(next, topics.length)]!;
}

/** A valid packet a connected client may send (or try to). */
export function sessionPacket(next: () => number, clientId: string): Buffer {
  switch (randomInt(next, 5)) {
    case 0:
      return mqttPacket.generate({ cmd: 'publish', topic: randomTopic(next, clientId) || 'x', payload: randomBytesFrom(next, randomInt(next, 300)), qos: 1, messageId: 1 + randomInt(next, 65535), retain: false, dup: false });
    case 1:
      return mqttPacket.generate({ cmd: 'publish', topic: randomTopic(next, clientId) || 'x', payload: JSON.stringify({ sentOn: 1, metrics: { 'request.id': 'fz', 'requester.client.id': clientId } }), qos: 0, retain: false, dup: false });
    case 2:
      return mqttPacket.generate({ cmd: 'subscribe', messageId: 1 + randomInt(next, 65535), subscriptions: [{ topic: randomTopic(next, clientId) || '#', qos: 1 }] });
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

/** Sends `bytes` on a fresh connection; resolves when the broker closes it or after `lingerMs`. */
export function sendAndLinger(target: Target, bytes: Buffer, lingerMs: number): Promise<'closed' | 'open'> {
  return new Promise((resolve) => {
    const socket = openSocket(target);
    let done = false;
    const finish = (outcome: 'closed' | 'open'): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish('open'), lingerMs);
    socket.on('error', () => finish('closed'));
    socket.on('close', () => finish('closed'));
    socket.on('data', () => undefined);
    socket.once(target.transport === 'tls' ? 'secureConnect' : 'connect', () => socket.write(bytes));
  });
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
