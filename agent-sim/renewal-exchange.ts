import { createPrivateKey, randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { createCertificateSigningRequest } from '../protocol/csr.ts';
import { actionForRenewal } from '../protocol/device-outcomes.ts';
import type { ReplyMessage } from '../protocol/messages.ts';
import { encodeRenewalRequest, renewalReplyTopic, renewalRequestTopic, renewNowTopic, type RenewalResult } from '../protocol/renewal.ts';
import { ResponseCode } from '../protocol/response-codes.ts';
import type { DeviceState, PendingRenewal } from './device-state.ts';
import { answerWithin } from './mqtt-waits.ts';
import { makeDeviceKey } from './provisioning-flow.ts';
import { ReplyWaiter } from './reply-waiter.ts';
import { UntrustedReplyError, verifyRenewalReply, verifyReplyStatement, type TrustOptions } from './reply-verification.ts';
import type { AgentSettings } from './settings.ts';

/**
 * One connection to the account broker, as CERT-V1 needs it: the renewal replies go to a waiter,
 * a renew-now command to `onRenewNow`. Made at CONNACK, before the subscriptions, so that nothing
 * that arrives is missed.
 */
export class AccountSession {
  readonly waiter: ReplyWaiter;

  constructor(
    readonly client: MqttClient,
    readonly account: string,
    readonly clientId: string,
    onRenewNow: (payload: Buffer) => void,
  ) {
    const replies = renewalReplyTopic(account, clientId, '');
    const renewNow = renewNowTopic(account, clientId);
    this.waiter = new ReplyWaiter(client, (topic) => topic.startsWith(replies));
    client.on('message', (topic, payload) => {
      if (topic === renewNow) onRenewNow(payload);
    });
  }
}

export type RenewalOutcome =
  | { readonly status: 'renewed'; readonly result: RenewalResult; readonly pending: PendingRenewal }
  /**
   * `action` as PROTOCOL.md's CERT-V1 table says: retry (the same request.id and key, after
   * `waitMs` or retry-interval), new-attempt (a new request.id and key), give-up (keep the
   * certificate, renew no more until told to).
   */
  | { readonly status: 'failed'; readonly reason: string; readonly action: 'retry' | 'new-attempt' | 'give-up'; readonly waitMs?: number };

/** The renewal in progress (kept in the state directory), or a new one: a new key and request.id. */
async function pendingOrNew(state: DeviceState): Promise<PendingRenewal> {
  const kept = state.pendingRenewal();
  if (kept) return kept;
  const pending = {
    requestId: randomUUID(),
    keyPem: makeDeviceKey().export({ type: 'pkcs8', format: 'pem' }).toString(),
    startedAt: Date.now(),
  };
  await state.savePendingRenewal(pending);
  return pending;
}

function untilClosed(client: MqttClient): Promise<null> {
  if (!client.connected) return Promise.resolve(null);
  return new Promise((resolve) => client.once('close', () => resolve(null)));
}

/**
 * One renewal attempt on a connected session: the request (a CSR for the pending new key), then
 * the verified reply. A reply that does not verify is ignored and the wait goes on to `timeout`
 * (PROTOCOL.md §6). Installing the result is the caller's.
 */
export async function renewalAttempt(
  session: AccountSession,
  state: DeviceState,
  settings: AgentSettings,
  trust: Omit<TrustOptions, 'requestId' | 'clientId'>,
  onStep?: (step: 'renew' | 'renew-ignored', detail?: string) => void,
): Promise<RenewalOutcome> {
  const pending = await pendingOrNew(state);
  const newKey = createPrivateKey(pending.keyPem);
  const { client, waiter, account, clientId } = session;
  let document: RenewalResult | undefined;
  const accept = (reply: ReplyMessage): boolean => {
    try {
      if (reply.responseCode === ResponseCode.ok) document = verifyRenewalReply(reply, { ...trust, clientId, requestId: pending.requestId, account, newKey });
      else verifyReplyStatement(reply, { ...trust, clientId, requestId: pending.requestId });
      return true;
    } catch (error) {
      onStep?.('renew-ignored', error instanceof UntrustedReplyError ? error.message : `unreadable reply: ${(error as Error).message}`);
      return false;
    }
  };
  const replied = Promise.race([waiter.wait(pending.requestId, settings.timeout, accept), untilClosed(client)]);
  const payload = encodeRenewalRequest({ requestId: pending.requestId, requesterClientId: clientId, csr: createCertificateSigningRequest(clientId, newKey) });
  onStep?.('renew', pending.requestId);
  try {
    await answerWithin(
      client,
      client.publishAsync(renewalRequestTopic(account, clientId), payload, { qos: 1 }),
      'PUBACK of the renewal request',
      settings.timeout,
    );
  } catch (error) {
    waiter.cancel(pending.requestId);
    return { status: 'failed', reason: (error as Error).message, action: 'retry' };
  }
  const reply = await replied;
  if (!reply) {
    const reason = client.connected ? 'timeout waiting for the renewal reply' : 'connection lost waiting for the renewal reply';
    return { status: 'failed', reason, action: 'retry' };
  }
  if (reply.responseCode === ResponseCode.ok && document) return { status: 'renewed', result: document, pending };
  const reason = `renewal refused: response.code ${reply.responseCode} ${reply.message ?? ''}`.trim();
  const waitMs = reply.retryAfterSeconds !== undefined ? { waitMs: reply.retryAfterSeconds * 1000 } : {};
  switch (actionForRenewal(reply.responseCode)) {
    case 'new-attempt':
      await state.forgetPendingRenewal();
      return { status: 'failed', reason, action: 'new-attempt' };
    case 'retry':
    case 'retry-after':
      return { status: 'failed', reason, action: 'retry', ...waitMs };
    default:
      await state.forgetPendingRenewal();
      return { status: 'failed', reason, action: 'give-up' };
  }
}
