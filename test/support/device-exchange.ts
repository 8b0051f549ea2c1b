import type { MqttClient } from 'mqtt';
import { decodeReply, encodeProvisionComplete, encodeProvisionRequest, type ReplyMessage } from '../../protocol/messages.ts';
import { provisionCompleteTopic, provisionRequestTopic, replyFilter } from '../../protocol/topics.ts';

export const provisioningAccount = 'provisioning';

/** Subscribes to the device's replies and returns a function awaiting the one for a request.id. */
export async function listenForReplies(client: MqttClient, clientId: string): Promise<(requestId: string, timeoutMs?: number) => Promise<ReplyMessage>> {
  const replies = new Map<string, ReplyMessage>();
  const waiters = new Map<string, (reply: ReplyMessage) => void>();
  client.on('message', (_topic, payload) => {
    const reply = decodeReply(payload);
    const waiter = waiters.get(reply.requestId);
    if (waiter) waiter(reply);
    else replies.set(reply.requestId, reply);
  });
  const granted = await client.subscribeAsync(replyFilter(provisioningAccount, clientId), { qos: 1 });
  if (granted[0]?.qos === 128) throw new Error('reply subscription refused');
  return (requestId, timeoutMs = 10_000) =>
    new Promise((resolve, reject) => {
      const early = replies.get(requestId);
      if (early) return resolve(early);
      const timer = setTimeout(() => reject(new Error(`no reply to ${requestId} within ${timeoutMs} ms`)), timeoutMs);
      waiters.set(requestId, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
    });
}

export async function requestProvisioning(
  client: MqttClient,
  clientId: string,
  requestId: string,
  options: { activationKey?: string; csr?: string } = {},
): Promise<void> {
  await client.publishAsync(
    provisionRequestTopic(provisioningAccount, clientId),
    encodeProvisionRequest({ requestId, requesterClientId: clientId, ...options, device: { model: 'test' } }),
    { qos: 1 },
  );
}

export async function reportCompletion(
  client: MqttClient,
  clientId: string,
  requestId: string,
  provisionRequestId: string,
  configurationHash: string,
): Promise<void> {
  await client.publishAsync(
    provisionCompleteTopic(provisioningAccount, clientId),
    encodeProvisionComplete({ requestId, requesterClientId: clientId, provisionRequestId, configurationHash, bundlesInstalled: [] }),
    { qos: 1 },
  );
}
