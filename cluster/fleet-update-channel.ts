import type { Redis } from 'ioredis';
import type { Logger } from '../log/logger.ts';
import { decodeFleetUpdateNotice, encodeFleetUpdateNotice, fleetUpdateChannel, type FleetUpdateNotice, type FleetUpdateSender } from './fleet-update-notice.ts';
import { publishNotice, subscribeNotices, type NoticeKind, type NoticeSubscriber } from './notice-channel.ts';

/** Fleet-update notices in a cluster: a notice channel (cluster/notice-channel.ts) that every broker process subscribes to. */
function fleetUpdateKind(redisKeyPrefix: string): NoticeKind<FleetUpdateNotice> {
  return {
    channel: fleetUpdateChannel(redisKeyPrefix),
    encode: encodeFleetUpdateNotice,
    decode: decodeFleetUpdateNotice,
    describe: (notice) => ({ account: notice.accountName, cause: notice.cause, devices: notice.clientIds.length }),
  };
}

/** The API's FleetUpdateSender in a cluster. */
export function fleetUpdateChannelPublisher(redis: Redis, redisKeyPrefix: string, log: Logger): FleetUpdateSender {
  const kind = fleetUpdateKind(redisKeyPrefix);
  return { tellToUpdate: (notice) => publishNotice(redis, kind, notice, log) };
}

/** A broker process's listener on the fleet-update channel; `redis` is a connection of its own, which it closes. */
export function subscribeFleetUpdates(
  redis: Redis,
  redisKeyPrefix: string,
  apply: (notice: FleetUpdateNotice) => Promise<void>,
  log: Logger,
): Promise<NoticeSubscriber> {
  return subscribeNotices({ redis, kind: fleetUpdateKind(redisKeyPrefix), apply, log });
}
