import { X509Certificate } from 'node:crypto';
import { connectAsync, type MqttClient } from 'mqtt';
import { createCsr } from '../../dev-support/csr.ts';
import { decodeProvisionResult, decodeReply, type ProvisionResult, type ReplyMessage } from '../../protocol/messages.ts';
import { renewalDeviceFilters } from '../../protocol/renewal.ts';
import { listenForReplies, reportCompletion, requestProvisioning } from './device-exchange.ts';

/** What a device holds after provisioning: its certificate, key and what the signed result said. */
export interface WireProvisioned {
  readonly certPem: string;
  readonly keyPem: string;
  /** Lower-case hex, as the admin API names certificates. */
  readonly serial: string;
  readonly result: ProvisionResult;
}

/**
 * One device provisioned the way PROTOCOL.md §2–§9 say, over a real TLS socket with mqtt.js and
 * nothing of agent-sim: CONNECT with the provisioning credentials, a provision request with a CSR
 * for a new key, then the completion report. The CONNACK code of a refused CONNECT is thrown as
 * mqtt.js reports it (error.code).
 */
export async function provisionOverMqtt(options: {
  readonly provisionUrl: string;
  readonly rootPem: string;
  readonly clientId: string;
  readonly username: string;
  readonly password: string;
  readonly activationKey?: string | undefined;
  readonly requestId: string;
}): Promise<WireProvisioned> {
  const { clientId, requestId } = options;
  const client: MqttClient = await connectAsync(options.provisionUrl, {
    clientId,
    username: options.username,
    password: options.password,
    ca: options.rootPem,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
  });
  try {
    const replyTo = await listenForReplies(client, clientId);
    const csr = createCsr({ commonName: clientId });
    await requestProvisioning(client, clientId, requestId, { csr: csr.csrPem, ...(options.activationKey ? { activationKey: options.activationKey } : {}) });
    const reply = await replyTo(requestId);
    if (reply.responseCode !== 200 || !reply.body) throw new Error(`provision reply ${reply.responseCode}: ${reply.message ?? ''}`);
    const result = decodeProvisionResult(reply.body);
    const completionId = `${requestId}-done`;
    await reportCompletion(client, clientId, completionId, requestId, result.configuration.sha256);
    const completed = await replyTo(completionId);
    if (completed.responseCode !== 200) throw new Error(`completion reply ${completed.responseCode}: ${completed.message ?? ''}`);
    const certPem = result.certificates.client;
    return { certPem, keyPem: csr.keyPem, serial: new X509Certificate(certPem).serialNumber.toLowerCase(), result };
  } finally {
    await client.endAsync();
  }
}

/** Mutual TLS to an account broker with a device's certificate (reconnect off). */
export function connectAccount(url: string, rootPem: string, clientId: string, device: Pick<WireProvisioned, 'certPem' | 'keyPem'>): Promise<MqttClient> {
  return connectAsync(url, {
    clientId,
    ca: rootPem,
    cert: device.certPem,
    key: device.keyPem,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
  });
}

/** The CERT-V1 replies an account-broker connection receives, by request.id. */
export interface RenewalReplies {
  /** The reply to `requestId`: one that came before anybody waited for it, or the next one (bounded). */
  replyTo(requestId: string, timeoutMs?: number, context?: () => string): Promise<ReplyMessage>;
  /** Drops a reply to `requestId` that came early, so that the next replyTo waits for a new one. */
  forget(requestId: string): void;
}

/** Subscribes the device to its CERT-V1 topics (§13), as it must before it publishes anything there, and collects the replies. */
export async function collectRenewalReplies(client: MqttClient, account: string, clientId: string): Promise<RenewalReplies> {
  const early = new Map<string, ReplyMessage>();
  const waiters = new Map<string, (reply: ReplyMessage) => void>();
  client.on('message', (topic, payload) => {
    if (!topic.includes('/CERT-V1/REPLY/')) return;
    const reply = decodeReply(payload);
    const waiter = waiters.get(reply.requestId);
    if (waiter) waiter(reply);
    else early.set(reply.requestId, reply);
  });
  await client.subscribeAsync(renewalDeviceFilters(account, clientId), { qos: 1 });
  return {
    replyTo: (requestId, timeoutMs = 15_000, context) =>
      new Promise((resolve, reject) => {
        const ready = early.get(requestId);
        if (ready) {
          early.delete(requestId);
          return resolve(ready);
        }
        const timer = setTimeout(() => {
          waiters.delete(requestId);
          reject(new Error(`no CERT-V1 reply to ${clientId}/${requestId} within ${timeoutMs} ms${context ? `\n${context()}` : ''}`));
        }, timeoutMs);
        waiters.set(requestId, (reply) => {
          clearTimeout(timer);
          waiters.delete(requestId);
          resolve(reply);
        });
      }),
    forget: (requestId) => early.delete(requestId),
  };
}
