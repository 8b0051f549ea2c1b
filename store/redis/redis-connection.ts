import { Redis } from 'ioredis';
import { PlatformError } from '../../errors/platform-error.ts';

export interface RedisConnectionOptions {
  /** Longest wait for a reply before the call fails with STORE_UNAVAILABLE. */
  readonly commandTimeoutMs?: number;
  /** Told about connection problems (the calls that fail also report them). */
  readonly onConnectionError?: (error: Error) => void;
}

/**
 * A client that fails fast while Redis is gone and reconnects in the background:
 * - maxRetriesPerRequest 0: commands waiting for a connection fail at the next failed
 *   reconnection attempt instead of queueing for ever;
 * - autoResendUnfulfilledCommands off: a script cut off mid-flight is reported as failed, never
 *   silently sent a second time (it may have run; a resend could apply it twice);
 * - commandTimeout bounds a Redis that accepts connections but does not answer.
 */
export async function connectRedis(url: string, options: RedisConnectionOptions = {}): Promise<Redis> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: 2000,
    commandTimeout: options.commandTimeoutMs ?? 5000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  });
  // Without a listener ioredis prints every connection error to the console.
  client.on('error', (error: Error) => options.onConnectionError?.(error));
  try {
    await client.connect();
    return client;
  } catch (error) {
    client.disconnect();
    throw new PlatformError('STORE_UNAVAILABLE', { detail: `cannot reach Redis at ${redactedAddress(url)}`, cause: error });
  }
}

/** host:port/db of a Redis URL, without the user name and password it may carry. */
export function redactedAddress(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}

/** Replies meaning Redis is up but cannot serve now. */
const unavailableReplies = /^(LOADING|READONLY|MISCONF|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|OOM)\b/;
/** Client-side failures of the connection (ioredis messages and socket error codes). */
const connectionFailures = /Connection is closed|Command timed out|Stream isn't writeable|Reached the max retries per request/;

/** Maps connection failures to STORE_UNAVAILABLE; leaves other errors (bugs) untouched. */
export function storeErrorFromRedis(error: unknown): unknown {
  if (error instanceof PlatformError || !(error instanceof Error)) return error;
  const unavailable =
    error.name === 'MaxRetriesPerRequestError' ||
    (error.name === 'ReplyError' && unavailableReplies.test(error.message)) ||
    (error.name !== 'ReplyError' && connectionFailures.test(error.message)) ||
    /^E[A-Z]+$/.test(String((error as NodeJS.ErrnoException).code ?? ''));
  return unavailable ? new PlatformError('STORE_UNAVAILABLE', { detail: 'Redis is unreachable or not answering', cause: error }) : error;
}
