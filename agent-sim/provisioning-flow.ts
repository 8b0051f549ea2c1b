import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { sha256Hex } from '../protocol/configuration-hash.ts';
import { createCertificateSigningRequest } from '../protocol/csr.ts';
import { encodeProvisionComplete, encodeProvisionRequest, type ProvisionResult, type ReplyMessage, type ReplyStatement } from '../protocol/messages.ts';
import { actionFor, actionForConnack } from '../protocol/device-outcomes.ts';
import { ResponseCode } from '../protocol/response-codes.ts';
import { provisionCompleteTopic, provisionRequestTopic, replyFilter } from '../protocol/topics.ts';
import type { DeviceState } from './device-state.ts';
import { answerWithin, closeWithin, connectWithin, dropConnection, StoppedError } from './mqtt-waits.ts';
import { ReplyWaiter } from './reply-waiter.ts';
import type { FactoryCredentials } from './factory-credentials.ts';
import { clientCertificateTls, trustOnlyTls } from './tls-contexts.ts';
import { UntrustedReplyError, verifyReply, type TrustOptions } from './reply-verification.ts';
import { learnNextRoot } from './root-learning.ts';
import type { AgentSettings } from './settings.ts';

export type Step = 'connect' | 'request' | 'reply' | 'verify' | 'bundles' | 'complete' | 'done';

export type AttemptResult =
  | { readonly status: 'provisioned'; readonly result: ProvisionResult }
  /**
   * `waitMs`: how long to wait before the next attempt; `fatal`: do not try again; `installed`:
   * it failed after the reply was verified and installed (while reporting completion).
   */
  | {
      readonly status: 'failed';
      readonly reason: string;
      readonly fatal: boolean;
      readonly waitMs?: number;
      readonly installed?: boolean;
      /** The next attempt must use a new request.id (response.code 422, PROTOCOL.md §6). */
      readonly newRequestId?: boolean;
      /** CONNACK 4: the caller backs off, doubling the wait (PROTOCOL.md §2). */
      readonly badCredentials?: boolean;
      /** CONNACK 5: the request is not enabled (or locked out); a device provisioning again backs off instead of waiting the lock-out. */
      readonly notAuthorized?: boolean;
    };

export interface AttemptContext {
  readonly settings: AgentSettings;
  readonly state: DeviceState;
  readonly trustedRootPem: string;
  /** Roots learnt since the factory (DeviceState.learntRoots, which grows when this attempt learns one), trusted beside it. */
  readonly learntRootPems?: readonly string[];
  /** Same across attempts until one succeeds: a repeated request.id gets the same certificate. */
  readonly requestId: string;
  readonly deviceKey: KeyObject | null;
  /** The factory certificate (PROTOCOL.md §17): presented as the TLS client certificate, in place of a user name and password. */
  readonly factory?: FactoryCredentials | null;
  readonly onStep?: (step: Step, detail?: string) => void;
  /** Stops the attempt: its connection is dropped and its downloads aborted. */
  readonly signal?: AbortSignal;
}

/** The device's own key and CSR, made once per provisioning. */
export function makeDeviceKey(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

const connackMeanings: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'client identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized (request expired, or locked out)',
};

/** A CONNACK 5 (expired, or locked out) is retried no sooner than the default lock-out (PROTOCOL.md §2). */
export const notAuthorizedWaitMs = 300_000;

function connackReason(error: unknown): { reason: string; fatal: boolean; waitMs?: number; badCredentials?: boolean; notAuthorized?: boolean } {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'number') return { reason: `cannot connect: ${(error as Error).message}`, fatal: false };
  const reason = `CONNACK ${code}: ${connackMeanings[code] ?? 'refused'}`;
  switch (actionForConnack(code)) {
    case 'back-off':
      return { reason, fatal: false, badCredentials: true };
    case 'wait-lockout':
      return { reason, fatal: false, waitMs: notAuthorizedWaitMs, notAuthorized: true };
    case 'retry':
      return { reason, fatal: false };
    default:
      return { reason, fatal: true };
  }
}

/** One bundle's bytes, the whole download (answer and body) within `timeout`. */
async function download(context: AttemptContext, name: string, url: string): Promise<Buffer> {
  const timeoutMs = context.settings.timeout;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = context.signal ? AbortSignal.any([timeout, context.signal]) : timeout;
  try {
    const response = await fetch(url, { signal });
    if (!response.ok) throw new Error(`bundle ${name}: HTTP ${response.status}`);
    return Buffer.from(await response.arrayBuffer());
  } catch (error) {
    if (context.signal?.aborted) throw new StoppedError();
    if (timeout.aborted) throw new Error(`bundle ${name}: timeout waiting for the download (${timeoutMs} ms)`);
    throw error;
  }
}

async function downloadBundles(context: AttemptContext, result: ProvisionResult): Promise<void> {
  for (const bundle of result.bundles) {
    const content = await download(context, bundle.name, bundle.url);
    if (content.length !== bundle.size) throw new Error(`bundle ${bundle.name}: size ${content.length}, expected ${bundle.size}`);
    if (sha256Hex(content) !== bundle.sha256) throw new Error(`bundle ${bundle.name}: sha256 does not match the signed reply`);
    await context.state.saveBundle(bundle.name, bundle.version, content);
  }
}

type Verified = { readonly reply: ReplyMessage; readonly document: ProvisionResult | ReplyStatement };

/**
 * Publishes (its PUBACK awaited for timeoutMs at most) and waits for the verified reply: a reply
 * that does not verify is ignored and the wait goes on until timeoutMs (PROTOCOL.md §6), so a
 * forged one cannot end the exchange. Null on timeout or loss of the connection; `onIgnored` has
 * then heard what was thrown away.
 */
async function exchange(
  client: MqttClient,
  waiter: ReplyWaiter,
  message: { readonly topic: string; readonly payload: Buffer; readonly requestId: string; readonly kind: 'provision' | 'complete' },
  trust: TrustOptions & { readonly devicePublicKey?: KeyObject },
  timeoutMs: number,
  onIgnored: (reason: string) => void,
): Promise<Verified | null> {
  let document: ProvisionResult | ReplyStatement | undefined;
  const accept = (reply: ReplyMessage): boolean => {
    try {
      document = verifyReply(reply, trust, message.kind);
      return true;
    } catch (error) {
      onIgnored(error instanceof UntrustedReplyError ? error.message : `unreadable reply: ${(error as Error).message}`);
      return false;
    }
  };
  const reply = Promise.race([waiter.wait(message.requestId, timeoutMs, accept), untilClosed(client)]);
  const what = message.kind === 'provision' ? 'PUBACK of the provision request' : 'PUBACK of the completion report';
  try {
    await answerWithin(client, client.publishAsync(message.topic, message.payload, { qos: 1 }), what, timeoutMs);
  } catch (error) {
    waiter.cancel(message.requestId);
    throw error;
  }
  const received = await reply;
  return received && document ? { reply: received, document } : null;
}

/** A refusal, as the device acts on it (the table of PROTOCOL.md §6). */
function refusal(reply: ReplyMessage, what: string, installed: boolean): AttemptResult {
  const reason = `${what}: response.code ${reply.responseCode} ${reply.message ?? ''}`.trim();
  const waitMs = reply.retryAfterSeconds !== undefined ? reply.retryAfterSeconds * 1000 : undefined;
  const withWait = waitMs !== undefined ? { waitMs } : {};
  const withInstalled = installed ? { installed } : {};
  switch (actionFor(reply.responseCode)) {
    case 'give-up':
      return { status: 'failed', reason, fatal: true };
    case 'new-attempt':
      return { status: 'failed', reason, fatal: false, newRequestId: true, ...withInstalled };
    default:
      // retry, retry-after, repeat-provision: the next attempt sends the same request.id again.
      return { status: 'failed', reason, fatal: false, ...withWait, ...withInstalled };
  }
}

/** The provision brokers to try, in order: `broker-url` may list several, comma-separated. */
export function brokerUrls(setting: string): string[] {
  return setting
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url.length > 0);
}

/** Only a broker that cannot be reached (or says "server unavailable") is a reason to try the next one, or again. */
export function worthAnotherBroker(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code !== 'number' || code === 3;
}

/**
 * Connects to the first broker of the list that answers, starting with the one that answered
 * last time: when a broker dies, its devices move to the next one.
 */
async function connectToSomeBroker(context: AttemptContext): Promise<MqttClient> {
  const { settings } = context;
  const urls = brokerUrls(settings['broker-url']);
  const first = Math.max(0, urls.indexOf(lastReachable.get(settings['client-id']) ?? ''));
  let lastError: unknown = new Error('no broker-url');
  for (let i = 0; i < urls.length; i += 1) {
    const url = urls[(first + i) % urls.length]!;
    context.onStep?.('connect', url);
    try {
      const client = await connectWithin(
        url,
        {
          clientId: settings['client-id'],
          clean: true,
          protocolVersion: 4,
          // mqtt.js hands its options to tls.connect: the verification is that of `ca: [trustedRootPem, ...learntRootPems]`.
          // A device with a factory certificate sends no user name and no password: the broker
          // takes the password path whenever a password comes (PROTOCOL.md §17).
          ...(context.factory
            ? clientCertificateTls(context.factory, context.trustedRootPem, context.learntRootPems)
            : { username: settings.username, password: settings.password, ...trustOnlyTls(context.trustedRootPem, context.learntRootPems) }),
        },
        settings.timeout,
        context.signal,
      );
      lastReachable.set(settings['client-id'], url);
      return client;
    } catch (error) {
      lastError = error;
      if (error instanceof StoppedError || !worthAnotherBroker(error)) break;
    }
  }
  throw lastError;
}

/** The broker each device reached last (per process: one agent-sim may run a whole fleet). */
const lastReachable = new Map<string, string>();

/** Resolves null when the connection ends first: a dead broker need not cost a whole timeout. */
function untilClosed(client: MqttClient): Promise<null> {
  if (!client.connected) return Promise.resolve(null);
  return new Promise((resolve) => client.once('close', () => resolve(null)));
}

/** Subscribes to the replies, the SUBACK awaited for `timeout` at most; a refused subscription fails the attempt. */
async function subscribeToReplies(client: MqttClient, filter: string, timeoutMs: number): Promise<void> {
  const granted = await answerWithin(client, client.subscribeAsync(filter, { qos: 1 }), 'SUBACK', timeoutMs);
  if (granted.some((grant) => grant.qos === 128)) throw new Error(`subscription to ${filter} refused`);
}

/** One attempt: connect, ask, verify, install, report. The caller decides about retries. */
export async function provisionAttempt(context: AttemptContext): Promise<AttemptResult> {
  const { settings } = context;
  const clientId = settings['client-id'];
  const account = settings['account-name'];
  let client: MqttClient;
  try {
    client = await connectToSomeBroker(context);
  } catch (error) {
    return { status: 'failed', ...connackReason(error) };
  }
  // Stopping ends every wait below at once: they all end when the connection does.
  const onAbort = (): void => dropConnection(client);
  context.signal?.addEventListener('abort', onAbort, { once: true });
  const waiter = new ReplyWaiter(client);
  const ignored: string[] = [];
  const onIgnored = (reason: string): void => {
    ignored.push(reason);
    context.onStep?.('verify', `reply ignored: ${reason}`);
  };
  const noReply = (what: string): string => {
    const base = client.connected ? `timeout waiting for the ${what}` : `connection lost waiting for the ${what}`;
    return ignored.length > 0 ? `${base} (ignored ${ignored.length} reply that did not verify: ${ignored[ignored.length - 1]})` : base;
  };
  const trust = {
    trustedRootPem: context.trustedRootPem,
    ...(context.learntRootPems ? { learntRootPems: context.learntRootPems } : {}),
    caAuthentication: settings['ca-authentication'],
    clientId,
  };
  let installed = false;
  try {
    await subscribeToReplies(client, replyFilter(account, clientId), settings.timeout);
    const csr = context.deviceKey ? createCertificateSigningRequest(clientId, context.deviceKey) : undefined;
    context.onStep?.('request', context.requestId);
    const answer = await exchange(
      client,
      waiter,
      {
        topic: provisionRequestTopic(account, clientId),
        payload: encodeProvisionRequest({
          requestId: context.requestId,
          requesterClientId: clientId,
          ...(settings['activation-key'] ? { activationKey: settings['activation-key'] } : {}),
          ...(csr ? { csr } : {}),
          device: {
            serial: settings.serial,
            ...(settings.model ? { model: settings.model } : {}),
            ...(settings.firmware ? { firmware: settings.firmware } : {}),
          },
        }),
        requestId: context.requestId,
        kind: 'provision',
      },
      { ...trust, requestId: context.requestId, ...(context.deviceKey ? { devicePublicKey: context.deviceKey } : {}) },
      settings.timeout,
      onIgnored,
    );
    if (!answer) return { status: 'failed', reason: noReply('reply'), fatal: false };
    context.onStep?.('reply', String(answer.reply.responseCode));
    if (answer.reply.responseCode !== ResponseCode.ok) return refusal(answer.reply, 'provisioning refused', false);
    context.onStep?.('verify');
    const result = answer.document as ProvisionResult;
    // A root rollover under way: the result names the new root, which the device checks and keeps (PROTOCOL.md §7).
    const learning = await learnNextRoot(context.state, result.trust);
    if (learning.kind !== 'none')
      context.onStep?.('verify', learning.kind === 'learnt' ? `learnt root ${learning.fingerprint}` : `next root not taken: ${learning.reason}`);
    context.onStep?.('bundles', String(result.bundles.length));
    await downloadBundles(context, result);
    const keyPem = context.deviceKey ? context.deviceKey.export({ type: 'pkcs8', format: 'pem' }).toString() : (result.certificates.clientKey ?? '');
    await context.state.saveProvisioning(result, keyPem);
    installed = true;

    context.onStep?.('complete');
    const completionId = randomUUID();
    const completion = await exchange(
      client,
      waiter,
      {
        topic: provisionCompleteTopic(account, clientId),
        payload: encodeProvisionComplete({
          requestId: completionId,
          requesterClientId: clientId,
          provisionRequestId: context.requestId,
          configurationHash: result.configuration.sha256,
          bundlesInstalled: result.bundles.map((bundle) => `${bundle.name}@${bundle.version}`),
        }),
        requestId: completionId,
        kind: 'complete',
      },
      { ...trust, requestId: completionId },
      settings.timeout,
      onIgnored,
    );
    if (!completion) return { status: 'failed', reason: noReply('completion reply'), fatal: false, installed };
    // 412: the platform holds another configuration; 429, 500, 503: it could not record the report
    // now. Either way the next attempt repeats the same request.id (same certificate, current
    // configuration) and reports again.
    if (completion.reply.responseCode !== ResponseCode.ok) return refusal(completion.reply, 'completion refused', installed);
    context.onStep?.('done');
    return { status: 'provisioned', result };
  } catch (error) {
    return { status: 'failed', reason: (error as Error).message, fatal: false, ...(installed ? { installed } : {}) };
  } finally {
    context.signal?.removeEventListener('abort', onAbort);
    await closeWithin(client, settings.timeout);
  }
}
