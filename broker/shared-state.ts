import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import type { MQEmitter } from 'mqemitter';
import type { PlatformConfig } from '../config/config.ts';
import type { Logger } from '../log/logger.ts';
import { redisTargetOptions, type RedisTargetConfig } from '../store/redis/redis-connection.ts';
import { adaptRedisPersistence } from './clean-session-persistence.ts';
import { prefixedEmitter } from './prefixed-emitter.ts';

// Both are CommonJS; aedes-persistence-redis' main export is the callback flavour, aedes 1.x needs the async one.
const require = createRequire(import.meta.url);
const MQEmitterRedis = require('mqemitter-redis') as typeof import('mqemitter-redis');
const AsyncRedisPersistence = require('aedes-persistence-redis/asyncPersistence.js') as new (options: Record<string, unknown>) => BrokerPersistence;

/** What aedes is given for sessions, retained messages and QoS 1 in-flight state (aedes-persistence 11 API). */
export type BrokerPersistence = Record<string, unknown> & { setup(broker: unknown): Promise<void>; destroy(): Promise<void> };

/** The persistence and emitter of one broker role; absent = aedes' in-memory defaults (one process). */
export interface BrokerBackends {
  readonly persistence: BrokerPersistence;
  readonly mq: MQEmitter;
}

export type BrokerRole = 'provision' | 'account';

export type SharedStateConfig = Pick<PlatformConfig, 'brokerSharedState' | 'brokerCleanSessionsInRedis' | 'redisKeyPrefix'> & RedisTargetConfig;

/**
 * Cluster mode: aedes-persistence-redis keeps sessions, retained messages and QoS 1 in-flight
 * state, mqemitter-redis makes every broker process of a role share one topic space. Each role
 * has its own key prefix and topic prefix, so a provision broker and an account broker never
 * see each other's sessions or messages. Returns null when the brokers run on their own.
 */
export function brokerBackends(config: SharedStateConfig, role: BrokerRole, log: Logger): BrokerBackends | null {
  if (config.brokerSharedState !== 'redis') return null;
  const redisLog = log.child({ component: `${role}-broker-redis` });
  const prefix = `${config.redisKeyPrefix}mqtt:${role}:`;
  // Commands wait for Redis to come back (null) rather than fail: a restart of Redis is a pause.
  const conn = new Redis({ ...redisTargetOptions(config), maxRetriesPerRequest: null, keyPrefix: prefix });
  let lastWarned = 0;
  conn.on('error', (error: Error) => {
    if (Date.now() - lastWarned < 5000) return; // one line per outage, not one per retry
    lastWarned = Date.now();
    redisLog.warn({ err: error.message }, 'broker persistence: Redis connection problem');
  });
  const redisPersistence = new AsyncRedisPersistence({ conn });
  const persistence = adaptRedisPersistence(redisPersistence, { cleanSessionsInMemory: !config.brokerCleanSessionsInRedis });
  return { persistence, mq: sharedEmitter(config, `${prefix}topic/`, redisLog) };
}

/**
 * mqemitter-redis on connections made here: without the ready check, because ioredis sends its
 * INFO ready check after a SUBSCRIBE queued before the first connect, which Redis refuses in
 * subscriber mode (a fatal error at start-up). Commands wait while Redis is away.
 */
export function sharedEmitter(target: RedisTargetConfig, topicPrefix: string, log: Logger): MQEmitter {
  const options = { ...redisTargetOptions(target), maxRetriesPerRequest: null, enableReadyCheck: false };
  const subConn = new Redis(options);
  const pubConn = new Redis(options);
  // The emitter reports errors through emitter.state; without these listeners ioredis prints each one.
  subConn.on('error', () => undefined);
  pubConn.on('error', () => undefined);
  const emitter = MQEmitterRedis({ subConn, pubConn }) as unknown as MQEmitter & {
    state: { on(event: 'error', listener: (error: Error) => void): void };
  };
  let lastWarned = 0;
  emitter.state.on('error', (error: Error) => {
    if (Date.now() - lastWarned < 5000) return; // one line per outage, not one per retry
    lastWarned = Date.now();
    log.warn({ err: error.message }, 'shared topic space: Redis connection problem');
  });
  return prefixedEmitter(emitter, topicPrefix);
}

/** After aedes.close(): aedes closes its emitter but leaves the persistence's Redis connection open. */
export async function closeBrokerBackends(backends: BrokerBackends | null | undefined): Promise<void> {
  if (!backends) return;
  await backends.persistence.destroy().catch(() => undefined);
}
