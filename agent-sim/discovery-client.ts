import { request } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import { StoppedError } from './mqtt-waits.ts';

/** Where a device asks cloud discovery (docs/PROTOCOL.md §19) which broker it belongs to. */
export const discoveryAssignmentPath = '/discovery/v1/assignment';

/**
 * Cloud discovery's answer: `provision` to a factory certificate (go provision there), `account`
 * to an operational certificate the platform issued (the device belongs to `account` already).
 */
export interface DiscoveryAssignment {
  readonly clientId: string;
  readonly kind: 'provision' | 'account';
  /** mqtts://host:port (or mqtt://): the provision broker for `provision`, the account broker for `account`. */
  readonly brokerUrl: string;
  readonly account: string | null;
  readonly enrollmentGroup: { readonly id: string; readonly name: string } | null;
}

/** Discovery did not answer with an assignment; `retry` says whether asking again may help. */
export class DiscoveryError extends Error {
  constructor(
    message: string,
    readonly retry: boolean,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** A body larger than this is not an assignment or a problem: the read stops there. */
const maxBodyBytes = 64 * 1024;

/**
 * Statuses asking again cannot change: a malformed request, no certificate presented, a wrong
 * URL. A 403 (certificate not registered yet, blocked) may change when an operator acts, so it is
 * asked again, within the retry budget, like a 5xx or a lost connection.
 */
const finalStatuses = new Set([400, 401, 404, 405, 406]);

/** "403 CERTIFICATE_INVALID: not signed by a registered manufacturer CA", from an RFC 9457 problem or whatever text came. */
function describeRefusal(status: number, contentType: string, body: string): string {
  if (contentType.includes('json')) {
    try {
      const problem = JSON.parse(body) as { code?: unknown; title?: unknown; detail?: unknown };
      const parts = [problem.code, problem.title, problem.detail].filter((part) => typeof part === 'string' && part.length > 0);
      if (parts.length > 0) return `HTTP ${status} ${parts.join(': ')}`;
    } catch {
      // not JSON after all: the text below says what came
    }
  }
  const text = body.replace(/\s+/g, ' ').trim().slice(0, 200);
  return text ? `HTTP ${status}: ${text}` : `HTTP ${status}`;
}

/** The answer, checked field by field: what a device acts on must be what the protocol says it is. */
function readAssignment(body: string): DiscoveryAssignment {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(body) as Record<string, unknown>;
  } catch {
    throw new DiscoveryError('the answer is not JSON', false);
  }
  const { clientId, kind, brokerUrl, account, enrollmentGroup } = parsed;
  if (typeof clientId !== 'string' || clientId.length === 0) throw new DiscoveryError('the answer has no clientId', false);
  if (kind !== 'provision' && kind !== 'account') throw new DiscoveryError(`the answer's kind is ${JSON.stringify(kind)}, not provision or account`, false);
  if (typeof brokerUrl !== 'string' || !/^mqtts?:\/\/[^/]+/.test(brokerUrl)) {
    throw new DiscoveryError(`the answer's brokerUrl ${JSON.stringify(brokerUrl)} is not an mqtts:// or mqtt:// URL`, false);
  }
  const group = enrollmentGroup as { id?: unknown; name?: unknown } | null | undefined;
  return {
    clientId,
    kind,
    brokerUrl,
    account: typeof account === 'string' ? account : null,
    enrollmentGroup: group && typeof group.id === 'string' && typeof group.name === 'string' ? { id: group.id, name: group.name } : null,
  };
}

/** Retry-After in seconds (the platform's form), as milliseconds. */
function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const seconds = Number(Array.isArray(header) ? header[0] : header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/**
 * One GET {discoveryUrl}/discovery/v1/assignment over mutual TLS (`tls`: the certificate the device
 * presents and the roots it trusts), answer and body within `timeoutMs`. Throws DiscoveryError
 * saying what came instead (status and problem detail, or the connection's error), or
 * StoppedError when `signal` is aborted. Its own connection each time (no agent): a connection
 * kept alive for another device of a fleet would present that device's certificate.
 */
export function askDiscovery(
  discoveryUrl: string,
  tls: Pick<ConnectionOptions, 'secureContext'>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<DiscoveryAssignment> {
  if (signal?.aborted) return Promise.reject(new StoppedError());
  const url = `${discoveryUrl.replace(/\/+$/, '')}${discoveryAssignmentPath}`;
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | null, assignment?: DiscoveryAssignment): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (error) {
        outgoing.destroy();
        reject(error);
      } else resolve(assignment!);
    };
    const outgoing = request(url, { method: 'GET', agent: false, headers: { accept: 'application/json' }, ...tls }, (incoming) => {
      const chunks: Buffer[] = [];
      let size = 0;
      incoming.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBodyBytes) finish(new DiscoveryError(`the answer is larger than ${maxBodyBytes} bytes`, false, incoming.statusCode));
        else chunks.push(chunk);
      });
      incoming.on('error', (error) => finish(new DiscoveryError(`connection lost reading the answer: ${error.message}`, true)));
      incoming.on('end', () => {
        const status = incoming.statusCode ?? 0;
        const body = Buffer.concat(chunks).toString('utf8');
        if (status === 200) {
          try {
            finish(null, readAssignment(body));
          } catch (error) {
            finish(error as Error);
          }
          return;
        }
        const wait = retryAfterMs(incoming.headers['retry-after']);
        finish(new DiscoveryError(describeRefusal(status, incoming.headers['content-type'] ?? '', body), !finalStatuses.has(status), status, wait));
      });
    });
    const timer = setTimeout(() => finish(new DiscoveryError(`timeout waiting for the answer (${timeoutMs} ms)`, true)), timeoutMs);
    const onAbort = (): void => finish(new StoppedError());
    signal?.addEventListener('abort', onAbort, { once: true });
    outgoing.on('error', (error: NodeJS.ErrnoException) =>
      finish(new DiscoveryError(`cannot connect: ${error.code ?? error.message}: ${error.message}`, true)),
    );
    outgoing.end();
  });
}

export interface DiscoveryRetries {
  readonly timeoutMs: number;
  readonly retryIntervalMs: number;
  /** Questions asked at most; -1 = until answered (or `signal`). */
  readonly maxAttempts: number;
  readonly signal?: AbortSignal;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Hears each failed question and whether another follows. */
  readonly onFailure?: (reason: string, again: boolean) => void;
}

/**
 * Asks until discovery answers, every retryIntervalMs (or its Retry-After), at most maxAttempts
 * times; a refusal asking again cannot change (DiscoveryError.retry false) ends it at once.
 * Throws the last DiscoveryError, its message prefixed with the URL and the number of questions.
 */
export async function discoverAssignment(
  discoveryUrl: string,
  tls: Pick<ConnectionOptions, 'secureContext'>,
  retries: DiscoveryRetries,
): Promise<DiscoveryAssignment> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await askDiscovery(discoveryUrl, tls, retries.timeoutMs, retries.signal);
    } catch (error) {
      if (!(error instanceof DiscoveryError)) throw error;
      const again = error.retry && (retries.maxAttempts === -1 || attempt < retries.maxAttempts) && !retries.signal?.aborted;
      retries.onFailure?.(error.message, again);
      if (!again) {
        const times = attempt === 1 ? 'once' : `${attempt} times`;
        throw new DiscoveryError(`discovery ${discoveryUrl} (asked ${times}): ${error.message}`, false, error.status);
      }
      await retries.sleep(error.retryAfterMs ?? retries.retryIntervalMs, retries.signal);
      if (retries.signal?.aborted) throw new StoppedError();
    }
  }
}
