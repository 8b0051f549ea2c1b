import type { Redis } from 'ioredis';
import type { Logger } from '../log/logger.ts';
import { publishNotice, subscribeNotices, type NoticeKind, type NoticeSubscriber } from './notice-channel.ts';
import { decodeRenewNowNotice, encodeRenewNowNotice, renewNowChannel, type RenewNowNotice, type RenewNowSender } from './renew-now-notice.ts';

/** Renew-now notices in a cluster: a notice channel (cluster/notice-channel.ts) that every broker process subscribes to. */
function renewNowKind(redisKeyPrefix: string): NoticeKind<RenewNowNotice> {
  return {
    channel: renewNowChannel(redisKeyPrefix),
    encode: encodeRenewNowNotice,
    decode: decodeRenewNowNotice,
    describe: (notice) => ({ renewalId: notice.renewalId }),
  };
}

export interface RenewNowChannelPublisherOptions {
  readonly redis: Redis;
  readonly redisKeyPrefix: string;
  readonly log: Logger;
}

/** The API's RenewNowSender in a cluster. */
export function renewNowChannelPublisher(options: RenewNowChannelPublisherOptions): RenewNowSender {
  const kind = renewNowKind(options.redisKeyPrefix);
  return { tellToRenew: (notice) => publishNotice(options.redis, kind, notice, options.log) };
}

export interface RenewNowSubscriberOptions {
  /** A connection of its own: a subscribed connection runs no other command. The subscriber closes it. */
  readonly redis: Redis;
  readonly redisKeyPrefix: string;
  /** Tells the named devices connected to this process. */
  readonly apply: (notice: RenewNowNotice) => Promise<void>;
  readonly log: Logger;
}

/** A broker process's listener on the renew-now channel. */
export function subscribeRenewNow(options: RenewNowSubscriberOptions): Promise<NoticeSubscriber> {
  return subscribeNotices({ redis: options.redis, kind: renewNowKind(options.redisKeyPrefix), apply: options.apply, log: options.log });
}
