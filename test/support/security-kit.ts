/** Shared by the security, fuzz and fault suites: polling, raw connection outcomes, SUBACK codes, a seeded PRNG. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { runDevice } from '../../agent-sim/device-agent.ts';
import type { AgentSettings } from '../../agent-sim/settings.ts';
import { createAccountAndRequest, type CreatedRequest, type TestPlatform } from './platform-fixture.ts';
import { newSimulatedDevice } from './simulated-device.ts';

/** Polls `read` until `accept` holds; fails naming `what` after timeoutMs (generous: shared CI machines are slow). */
export async function eventually<T>(read: () => Promise<T> | T, accept: (value: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(value)?.slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Connects once and says how it went: 'connected', `connack N`, or 'refused' when the TLS
 * handshake or the socket ended it before any CONNACK.
 */
export function connectOutcome(url: string, options: IClientOptions): Promise<string> {
  return new Promise((resolve) => {
    const client = connect(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10_000, ...options });
    let settled = false;
    const finish = (outcome: string): void => {
      if (settled) return;
      settled = true;
      client.end(true);
      resolve(outcome);
    };
    client.once('connect', () => finish('connected'));
    client.once('error', (error) => {
      const code = (error as { code?: unknown }).code;
      finish(typeof code === 'number' ? `connack ${code}` : 'refused');
    });
    client.once('close', () => finish('refused'));
  });
}

/** The return code the broker granted a filter: the QoS, or 128 (mqtt.js rejects on 0x80: read the packet). */
export async function subackCode(client: MqttClient, filter: string): Promise<number> {
  try {
    return (await client.subscribeAsync(filter, { qos: 1 }))[0]!.qos;
  } catch (error) {
    const granted = (error as { packet?: { granted?: number[] } }).packet?.granted;
    if (!granted) throw error;
    return Number(granted[0]);
  }
}

/**
 * Publishes at QoS 1 and says whether the broker took it ('accepted': PUBACK) or closed the
 * connection ('closed'), which is how a refused PUBLISH is answered (docs/PROTOCOL.md §2).
 */
export function publishOutcome(client: MqttClient, topic: string, payload: string | Buffer = '{}'): Promise<'accepted' | 'closed'> {
  return new Promise((resolve) => {
    const onClose = (): void => resolve('closed');
    client.once('close', onClose);
    client.publish(topic, payload, { qos: 1 }, (error) => {
      client.off('close', onClose);
      resolve(error ? 'closed' : 'accepted');
    });
  });
}

/** A device taken through provisioning by agent-sim: its account broker client and its certificate and key. */
export interface ProvisionedDevice {
  readonly request: CreatedRequest;
  readonly certPem: string;
  readonly keyPem: string;
  readonly stateDir: string;
}

export async function provisionDevice(
  fixture: TestPlatform,
  clientId: string,
  options: { account?: string; generateActivationKey?: boolean; extra?: Record<string, unknown>; settings?: Partial<AgentSettings> } = {},
): Promise<ProvisionedDevice> {
  const request = await createAccountAndRequest(fixture, clientId, {
    ...(options.account ? { account: options.account } : {}),
    ...(options.generateActivationKey ? { generateActivationKey: true } : {}),
    ...(options.extra ? { extra: options.extra } : {}),
  });
  const state = await newSimulatedDevice(fixture, request, { timeout: 15_000, ...options.settings });
  const result = await runDevice(state);
  if (result.status !== 'online') throw new Error(`${clientId} not provisioned: ${result.status === 'failed' ? result.reason : result.status}`);
  await result.accountClient.endAsync();
  const [certPem, keyPem] = await Promise.all([readFile(join(state.directory, 'client.pem'), 'utf8'), readFile(join(state.directory, 'client.key'), 'utf8')]);
  return { request, certPem, keyPem, stateDir: state.directory };
}

/** mulberry32: a small seeded PRNG, so every fuzz run tries the very same cases. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomInt(next: () => number, below: number): number {
  return Math.floor(next() * below);
}

export function randomBytesFrom(next: () => number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i += 1) bytes[i] = randomInt(next, 256);
  return bytes;
}
