import type { Redis } from 'ioredis';
import type { Logger } from '../log/logger.ts';
import { decodeRenewNowNotice, encodeRenewNowNotice, renewNowChannel, type RenewNowNotice, type RenewNowSender } from './renew-now-notice.ts';

/**
 * Renew-now notices in a cluster: Redis PUB/SUB on one channel that every broker process
 * subscribes to. At most once, unlike the session-end stream: a broker process cut off from
 * Redis at that moment does not tell its devices, and nothing is lost but time (each device still
 * renews on its own schedule, and the operator can ask again). A notice concerns the devices
 * connected to one broker process only; the others find none of the named devices and do nothing.
 */

export interface RenewNowChannelPublisherOptions {
  readonly redis: Redis;
  readonly redisKeyPrefix: string;
  readonly log: Logger;
}

/** The API's RenewNowSender in a cluster. */
export function renewNowChannelPublisher(options: RenewNowChannelPublisherOptions): RenewNowSender {
  const channel = renewNowChannel(options.redisKeyPrefix);
  return {
    async tellToRenew(notice) {
      const receivers = await options.redis.publish(channel, encodeRenewNowNotice(notice));
      if (receivers === 0) options.log.warn({ renewalId: notice.renewalId }, 'renew-now notice published, but no broker process is listening');
    },
  };
}

export interface RenewNowSubscriberOptions {
  /** A connection of its own: a subscribed connection runs no other command. The subscriber closes it. */
  readonly redis: Redis;
  readonly redisKeyPrefix: string;
  /** Tells the named devices connected to this process. */
  readonly apply: (notice: RenewNowNotice) => Promise<void>;
  readonly log: Logger;
}

export interface RenewNowSubscriber {
  close(): Promise<void>;
}

/** A broker process's listener on the renew-now channel (ioredis subscribes again after a reconnect). */
export async function subscribeRenewNow(options: RenewNowSubscriberOptions): Promise<RenewNowSubscriber> {
  const { redis, log } = options;
  const channel = renewNowChannel(options.redisKeyPrefix);
  const pending = new Set<Promise<void>>();
  const onMessage = (from: string, message: string): void => {
    if (from !== channel) return;
    const notice = decodeRenewNowNotice(message);
    if (!notice) {
      log.warn('unreadable renew-now notice skipped');
      return;
    }
    const work = options
      .apply(notice)
      .catch((error: unknown) => log.error({ err: error, renewalId: notice.renewalId }, 'renew-now notice not applied'))
      .finally(() => pending.delete(work));
    pending.add(work);
  };
  redis.on('message', onMessage);
  await redis.subscribe(channel);
  return {
    async close() {
      redis.off('message', onMessage);
      redis.disconnect();
      await Promise.allSettled([...pending]);
    },
  };
}
