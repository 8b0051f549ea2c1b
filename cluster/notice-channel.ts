import type { Redis } from 'ioredis';
import type { Logger } from '../log/logger.ts';

/**
 * Notices from the API to every broker process of a cluster (renew now, fleet updates): Redis
 * PUB/SUB on one channel per kind, which every broker process subscribes to. At most once,
 * unlike the session-end stream: a broker process cut off from Redis at that moment does not tell
 * its devices, and nothing is lost but time (what a notice asks for also happens at the device's
 * next birth or on its own schedule, and the operator can ask again). A notice concerns the devices
 * connected to one broker process only; the others find none of the named devices and do nothing.
 */
export interface NoticeKind<Notice> {
  /** The Redis channel, with the key prefix. */
  readonly channel: string;
  readonly encode: (notice: Notice) => string;
  /** null for a message that is not a whole notice. */
  readonly decode: (text: string) => Notice | null;
  /** For log lines: what the notice is about (never a secret). */
  readonly describe: (notice: Notice) => Record<string, unknown>;
}

/** Publishes a notice; a warning when no broker process is listening. */
export async function publishNotice<Notice>(redis: Redis, kind: NoticeKind<Notice>, notice: Notice, log: Logger): Promise<void> {
  const receivers = await redis.publish(kind.channel, kind.encode(notice));
  if (receivers === 0) log.warn(kind.describe(notice), 'notice published, but no broker process is listening');
}

export interface NoticeSubscriberOptions<Notice> {
  /** A connection of its own: a subscribed connection runs no other command. The subscriber closes it. */
  readonly redis: Redis;
  readonly kind: NoticeKind<Notice>;
  /** Acts on the named devices connected to this process. */
  readonly apply: (notice: Notice) => Promise<void>;
  readonly log: Logger;
}

export interface NoticeSubscriber {
  close(): Promise<void>;
}

/** A broker process's listener on one notice channel (ioredis subscribes again after a reconnect). */
export async function subscribeNotices<Notice>(options: NoticeSubscriberOptions<Notice>): Promise<NoticeSubscriber> {
  const { redis, kind, log } = options;
  const pending = new Set<Promise<void>>();
  const onMessage = (from: string, message: string): void => {
    if (from !== kind.channel) return;
    const notice = kind.decode(message);
    if (!notice) {
      log.warn({ channel: kind.channel }, 'unreadable notice skipped');
      return;
    }
    const work = options
      .apply(notice)
      .catch((error: unknown) => log.error({ err: error, ...kind.describe(notice) }, 'notice not applied'))
      .finally(() => pending.delete(work));
    pending.add(work);
  };
  redis.on('message', onMessage);
  await redis.subscribe(kind.channel);
  return {
    async close() {
      redis.off('message', onMessage);
      redis.disconnect();
      await Promise.allSettled([...pending]);
    },
  };
}
