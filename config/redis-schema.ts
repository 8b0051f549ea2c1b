/**
 * Settings of Redis behind Sentinel (issue 19 §3; docs/OPERATIONS.md "Redis with Sentinel, managed
 * or clustered Redis"): with them every Redis connection of the platform asks the Sentinels where
 * the master is and follows it when a replica is promoted, instead of holding one fixed address.
 */
import { Type } from '@sinclair/typebox';

export const redisSentinelSettings = {
  redisSentinels: Type.Optional(
    Type.Array(Type.String({ pattern: '^[A-Za-z0-9.:\\[\\]-]+:[0-9]{1,5}$', title: 'host:port pairs' }), {
      minItems: 1,
      description:
        'Comma-separated host:port of the Redis Sentinels watching the master named by PROVISIO_REDIS_SENTINEL_NAME. Set: every Redis connection asks them where the master is and follows a failover; the host and port of PROVISIO_REDIS_URL are then unused (its user, password, database and rediss: still apply to the master). Unset: PROVISIO_REDIS_URL names the one Redis.',
    }),
  ),
  redisSentinelName: Type.String({
    pattern: '^[A-Za-z0-9_.-]{1,64}$',
    default: 'mymaster',
    description: 'Master name the Sentinels monitor (sentinel monitor {name} …), used when PROVISIO_REDIS_SENTINELS is set.',
  }),
  redisWaitReplicas: Type.Integer({
    minimum: 0,
    maximum: 16,
    default: 0,
    description:
      "Redis store: replicas that must hold a process's store writes (Redis WAIT) before a provisioning or renewal reply based on them is sent. 0: replies go at once, and a failover may take back what a device was already told (the last writes of the old master not yet replicated). 1 or more with Sentinel or a replicated managed Redis.",
  }),
  redisWaitTimeoutMs: Type.Integer({
    minimum: 10,
    maximum: 60000,
    default: 1000,
    description:
      'Longest wait for those replicas; fewer in time: the device is answered 503 STORE_UNAVAILABLE and asks again later (provisioning stops while fewer replicas than PROVISIO_REDIS_WAIT_REPLICAS are up).',
  }),
};
