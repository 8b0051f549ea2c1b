import { Redis, type RedisOptions } from 'ioredis';
import type { PlatformConfig } from '../../config/schema.ts';
import { PlatformError } from '../../errors/platform-error.ts';

/** Where Redis is: one URL, or Sentinels and the master name they watch (the settings of config/redis-schema.ts). */
export interface RedisTargetConfig {
  readonly redisUrl: PlatformConfig['redisUrl'];
  readonly redisSentinels?: readonly string[] | undefined;
  readonly redisSentinelName?: PlatformConfig['redisSentinelName'] | undefined;
}

/**
 * The ioredis options saying where Redis is, for every connection the platform opens (the store,
 * the brokers' persistence and topic space, the streams and notice channels), so that with
 * Sentinel none of them holds a fixed address: each asks the Sentinels for the master when it
 * (re)connects, and so follows a promoted replica after a failover. The URL still gives the user,
 * password, database and TLS of the master. The caller adds how its connection behaves while Redis
 * is away (fail fast or wait).
 *
 * A write refused with READONLY went to a master demoted to replica (a connection made just
 * before the failover): it was not applied, so the connection is made again (to the master the
 * Sentinels name now) and that command sent again.
 */
export function redisTargetOptions(config: RedisTargetConfig): RedisOptions {
  const { host, port, ...access } = parseRedisUrl(config.redisUrl);
  const reconnectOnError = (error: Error): 2 | false => (/\bREADONLY\b/.test(error.message) ? 2 : false);
  if (!config.redisSentinels?.length) return { host, port, ...access, reconnectOnError };
  return {
    sentinels: config.redisSentinels.map(sentinelAddress),
    name: config.redisSentinelName ?? 'mymaster',
    ...access,
    // ioredis' Sentinel mode connects to the master in plain TCP unless told to use `tls` there too.
    ...(access.tls ? { enableTLSForSentinelMode: true } : {}),
    // Default: give up after 10 rounds of unreachable Sentinels; the platform keeps asking instead.
    sentinelRetryStrategy: (attempt: number) => Math.min(attempt * 100, 1000),
    reconnectOnError,
  };
}

/** host:port (IPv6 in brackets) as ioredis wants a Sentinel's address. */
function sentinelAddress(entry: string): { host: string; port: number } {
  const colon = entry.lastIndexOf(':');
  return { host: entry.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(entry.slice(colon + 1)) };
}

/** ioredis options from a redis:// or rediss:// URL (ioredis takes a URL only as its first argument). */
function parseRedisUrl(url: string): { host: string; port: number } & Pick<RedisOptions, 'username' | 'password' | 'db' | 'tls'> {
  const parsed = new URL(url);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.pathname.length > 1 ? { db: Number(parsed.pathname.slice(1)) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

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
export async function connectRedis(target: RedisTargetConfig, options: RedisConnectionOptions = {}): Promise<Redis> {
  const client = new Redis({
    ...redisTargetOptions(target),
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
    throw new PlatformError('STORE_UNAVAILABLE', { detail: `cannot reach Redis ${describeTarget(target)}`, cause: error });
  }
}

/** For messages: where Redis was looked for, without the user name and password the URL may carry. */
function describeTarget(target: RedisTargetConfig): string {
  if (!target.redisSentinels?.length) return `at ${redactedAddress(target.redisUrl)}`;
  return `master ${target.redisSentinelName ?? 'mymaster'} through the Sentinels ${target.redisSentinels.join(',')}`;
}

/** host:port/db of a Redis URL, without the user name and password it may carry. */
function redactedAddress(url: string): string {
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
