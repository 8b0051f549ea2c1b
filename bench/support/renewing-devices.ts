/**
 * The device side of the renewal benchmark (bench/renewal.ts): devices that agent-sim provisioned,
 * read back from their state directories, each with a new key and its CSR made in advance (so
 * that the device's key generation is not in the measured window), connected to the account
 * broker with mutual TLS through mqtt.js, sending one CERT-V1 renewal each and then connecting
 * with the new certificate. Only the protocol module is used, as an outside agent would.
 */
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { verifyRenewalReply } from '../../agent-sim/reply-verification.ts';
import { createCertificateSigningRequest } from '../../protocol/csr.ts';
import { decodeReply, type ReplyMessage } from '../../protocol/messages.ts';
import { encodeRenewalRequest, renewalDeviceFilters, renewalRequestTopic } from '../../protocol/renewal.ts';

export interface RenewingDevice {
  readonly clientId: string;
  readonly account: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** Made before the measured window. */
  readonly newKey: KeyObject;
  readonly requestId: string;
  readonly request: Buffer;
  client?: MqttClient;
  reply?: ReplyMessage;
  latencyMs?: number;
}

/** Devices of an agent-sim fleet run (state directories named by encodeURIComponent(clientId)), each with a new key and CSR. */
export async function loadDevices(stateRoot: string, clientIds: readonly string[], account: string): Promise<RenewingDevice[]> {
  const devices: RenewingDevice[] = [];
  for (const clientId of clientIds) {
    const directory = path.join(stateRoot, encodeURIComponent(clientId));
    if (!existsSync(path.join(directory, 'client.pem'))) continue;
    const [certPem, keyPem] = await Promise.all([readFile(path.join(directory, 'client.pem'), 'utf8'), readFile(path.join(directory, 'client.key'), 'utf8')]);
    const newKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const requestId = randomUUID();
    const request = encodeRenewalRequest({ requestId, requesterClientId: clientId, csr: createCertificateSigningRequest(clientId, newKey) });
    devices.push({ clientId, account, certPem, keyPem, newKey, requestId, request });
  }
  return devices;
}

/** Runs `work` over `items`, at most `limit` at once. */
export async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** Mutual TLS to the account broker with the given pair, then the CERT-V1 subscriptions (as PROTOCOL.md §13 asks). */
export async function connectDevice(
  port: number,
  rootCa: string,
  device: RenewingDevice,
  pair: { certPem: string; keyPem: string | KeyObject },
): Promise<MqttClient> {
  const key = typeof pair.keyPem === 'string' ? pair.keyPem : pair.keyPem.export({ type: 'pkcs8', format: 'pem' }).toString();
  const client = await connectAsync(`mqtts://localhost:${port}`, {
    clientId: device.clientId,
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 30_000,
    cert: pair.certPem,
    key,
    ca: rootCa,
  });
  await client.subscribeAsync(renewalDeviceFilters(device.account, device.clientId), { qos: 1 });
  return client;
}

/** One renewal: the prepared request (QoS 1), then the reply on REPLY/{request.id}, within `timeoutMs`. */
export function renew(device: RenewingDevice, timeoutMs: number): Promise<void> {
  const client = device.client;
  if (!client) return Promise.reject(new Error(`${device.clientId} is not connected`));
  const started = performance.now();
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error('no renewal reply within the timeout')), timeoutMs);
    const onMessage = (topic: string, payload: Buffer): void => {
      if (!topic.endsWith(`/REPLY/${device.requestId}`)) return;
      device.latencyMs = performance.now() - started;
      try {
        device.reply = decodeReply(payload);
        finish(null);
      } catch (error) {
        finish(error as Error);
      }
    };
    function finish(error: Error | null): void {
      clearTimeout(timer);
      client!.off('message', onMessage);
      if (error) reject(error);
      else resolve();
    }
    client.on('message', onMessage);
    client.publish(renewalRequestTopic(device.account, device.clientId), device.request, { qos: 1 }, (error) => {
      if (error) finish(error);
    });
  });
}

/** After the measured window: the reply verified as an agent must (§7 and §13), and the new certificate. */
export function checkRenewal(device: RenewingDevice, trustedRootPem: string): string {
  if (!device.reply) throw new Error('no reply');
  if (device.reply.responseCode !== 200) throw new Error(`response.code ${device.reply.responseCode} ${device.reply.message ?? ''}`);
  const result = verifyRenewalReply(device.reply, {
    trustedRootPem,
    caAuthentication: true,
    clientId: device.clientId,
    requestId: device.requestId,
    account: device.account,
    newKey: device.newKey,
  });
  return result.certificates.client;
}
