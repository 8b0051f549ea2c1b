import { PlatformError, toPlatformError } from '../errors/platform-error.ts';
import { decodeProvisionComplete, decodeProvisionRequest, ProtocolError } from '../protocol/messages.ts';
import { parseDeviceTopic, platformRequestFilters, provisioningApp, replyTopic } from '../protocol/topics.ts';
import { provisionAttemptDuration, provisionAttempts, provisionCompletions, provisionReplies } from '../metrics/metrics.ts';
import { handleCompletion } from './completion.ts';
import type { ProvisionerDependencies } from './dependencies.ts';
import { handleProvisionAttempt } from './provision-attempt.ts';
import { ProvisionRateLimit } from './provision-rate-limit.ts';
import { completionReply, errorReply, successReply } from './reply-builder.ts';
import type { MessageOrigin, ProvisioningTransport } from './transport.ts';

export interface ProvisionerOptions {
  /** Messages handled at once; beyond it devices are told 429 with a retry delay. */
  readonly maxInFlight?: number;
}

export interface Provisioner {
  readonly inFlight: () => number;
  /** Stops taking messages and waits for those in flight (their replies are sent). */
  close(): Promise<void>;
}

/** `"request.id": "…"` with an id usable in a reply topic, anywhere in the text. */
const requestIdPair = /"request\.id"\s*:\s*"([A-Za-z0-9._-]{1,64})"/;

/**
 * request.id of a message that failed validation (PROTOCOL.md §5): read from the parsed JSON
 * when it parses, otherwise from the first `"request.id":"…"` pair in the text, so that a
 * truncated message is still answered 400.
 */
export function salvageRequestId(payload: Buffer): string | null {
  const text = payload.toString('utf8');
  try {
    const value = (JSON.parse(text) as { metrics?: Record<string, unknown> } | null)?.metrics?.['request.id'];
    return typeof value === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(value) ? value : null;
  } catch {
    return requestIdPair.exec(text)?.[1] ?? null;
  }
}

// Made once: these are counted for nearly every message (metrics/metrics.ts).
const attemptSucceeded = provisionAttempts.labels('success');
const attemptSilent = provisionAttempts.labels('silent');
const successDuration = provisionAttemptDuration.labels('success');
const refusedDuration = provisionAttemptDuration.labels('refused');
const provisionAnswered = provisionReplies.labels('provision', '200');
const completionAnswered = provisionReplies.labels('complete', '200');

export function protocolToPlatformError(error: ProtocolError): PlatformError {
  return new PlatformError(error.responseCode === 413 ? 'PAYLOAD_TOO_LARGE' : 'VALIDATION_FAILED', { detail: error.message });
}

/**
 * The provisioning worker: takes provision and completion messages off the transport, answers
 * each on REPLY/{request.id}. The decisions live in provision-attempt.ts and completion.ts.
 */
export async function startProvisioner(
  deps: ProvisionerDependencies,
  transport: ProvisioningTransport,
  options: ProvisionerOptions = {},
): Promise<Provisioner> {
  const log = deps.log.child({ component: 'provisioner' });
  const maxInFlight = options.maxInFlight ?? 512;
  // Per clientId, per process (issue 20 §2, docs/PROTOCOL.md §2).
  const rateLimit = new ProvisionRateLimit(deps.rateLimits.provisionMessageBurst, deps.rateLimits.provisionMessagesPerMinute);
  const pending = new Set<Promise<void>>();
  let closing = false;

  async function reply(clientId: string, requestId: string, payload: Buffer): Promise<void> {
    try {
      await transport.publish(replyTopic(deps.provisioningAccount, clientId, requestId), payload);
    } catch (error) {
      log.warn({ err: error, clientId, requestId }, 'reply not published');
    }
  }

  async function handle(topic: string, payload: Buffer, origin: MessageOrigin): Promise<void> {
    const parsed = parseDeviceTopic(topic);
    if (!parsed || parsed.account !== deps.provisioningAccount || parsed.rest[0] !== provisioningApp) return;
    const clientId = parsed.clientId;
    const action = parsed.rest.slice(1).join('/');
    if (action !== 'EXEC/provision' && action !== 'EXEC/complete') return;
    // Decided before anything is read: a flood costs one signed 429 per retry delay, then nothing.
    const rate = rateLimit.check(clientId);
    if (rate.kind === 'ignore') {
      log.debug({ clientId }, "provisioning message ignored: over the device's limit, told when to come back");
      return;
    }
    let requestId: string | null = null;
    const started = performance.now();
    const seconds = (): number => (performance.now() - started) / 1000;
    try {
      if (rate.kind === 'refuse') {
        throw new PlatformError('OVERLOADED', { retryAfterSeconds: rate.retryAfterSeconds, detail: 'too many provisioning messages from this device' });
      }
      // `pending` holds the others in flight (this one is added once handle() returns its promise).
      if (pending.size >= maxInFlight) throw new PlatformError('OVERLOADED', { retryAfterSeconds: 1 });
      if (action === 'EXEC/provision') {
        const message = decodeProvisionRequest(payload, deps.maxMessageBytes);
        requestId = message.requestId;
        const outcome = await handleProvisionAttempt(deps, clientId, message, origin);
        if (outcome.kind === 'silent') {
          attemptSilent.inc();
          log.debug({ clientId, requestId, reason: outcome.reason }, 'no reply');
          return;
        }
        // The certificate, the claim and the audit behind this answer survive a Redis failover (PROVISIO_REDIS_WAIT_REPLICAS).
        await deps.store.awaitReplication();
        await reply(clientId, requestId, successReply(deps, outcome.result));
        attemptSucceeded.inc();
        provisionAnswered.inc();
        successDuration.observe(seconds());
        log.info({ clientId, requestId }, 'provisioning reply sent');
      } else if (action === 'EXEC/complete') {
        const message = decodeProvisionComplete(payload, deps.maxMessageBytes);
        requestId = message.requestId;
        await handleCompletion(deps, clientId, message);
        await deps.store.awaitReplication();
        await reply(clientId, requestId, completionReply(deps, clientId, requestId));
        provisionCompletions.inc();
        completionAnswered.inc();
        log.info({ clientId, requestId }, 'provisioning completed');
      }
    } catch (error) {
      // Only a message that could not be decoded (or was not decoded: overload) is parsed again for its id.
      requestId ??= salvageRequestId(payload);
      const platformError = error instanceof ProtocolError ? protocolToPlatformError(error) : toPlatformError(error, log, 'provisioning failed');
      log.info({ clientId, requestId, code: platformError.code, detail: platformError.detail }, 'provisioning request refused');
      if (action === 'EXEC/provision') {
        provisionAttempts.inc({ outcome: platformError.code });
        refusedDuration.observe(seconds());
      }
      if (requestId) {
        await reply(clientId, requestId, errorReply(deps, clientId, requestId, platformError));
        provisionReplies.inc({ message: action === 'EXEC/provision' ? 'provision' : 'complete', code: String(platformError.replyCode) });
      }
    }
  }

  await transport.start(platformRequestFilters(deps.provisioningAccount), (topic, payload, origin) => {
    if (closing) return;
    const work = handle(topic, payload, origin).finally(() => pending.delete(work));
    pending.add(work);
    return work; // transports that acknowledge (the Redis stream) wait for it
  });

  return {
    inFlight: () => pending.size,
    async close() {
      closing = true;
      await Promise.allSettled([...pending]);
      await transport.close();
    },
  };
}
