import type { Redis } from 'ioredis';
import type { Logger } from '../log/logger.ts';
import { decodeSessionEndFields, encodeSessionEndFields, sessionEndStreamKey, type SessionEndNotice, type SessionEnder } from './session-end-notice.ts';

/**
 * Session-end notices in a cluster: a Redis stream, not PUB/SUB, so that a broker process
 * briefly cut off from Redis still gets every notice. The API and the provisioners append
 * (XADD MAXLEN ~); every broker process reads every entry with a plain XREAD BLOCK from the last
 * id it read (no consumer group: each notice concerns every broker), resuming from there after
 * a reconnect. A broker starts after the stream's last entry as it boots: sessions that exist
 * later were authenticated after any earlier notice, against a store that already said so.
 *
 * If notices a broker had not read are gone (trimmed while it was away, or Redis lost the
 * stream), the broker cannot know which sessions they concerned: it is told (onGap) and ends
 * every device session it holds; devices reconnect and are checked again.
 */

/** A read waits this long for a notice before it is issued again (XREAD wakes at once on XADD). */
export const sessionEndReadBlockMs = 1000;
const batchSize = 100;
const retryDelayMs = 500;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface SessionEndPublisherOptions {
  readonly redis: Redis;
  readonly redisKeyPrefix: string;
  /** XADD MAXLEN ~ this. */
  readonly maxLength: number;
}

/** The API's and the provisioners' SessionEnder in a cluster. */
export function sessionEndPublisher(options: SessionEndPublisherOptions): SessionEnder {
  const key = sessionEndStreamKey(options.redisKeyPrefix);
  return {
    async endSessions(notice) {
      await options.redis.xadd(key, 'MAXLEN', '~', String(options.maxLength), '*', ...encodeSessionEndFields(notice));
    },
  };
}

/** Where a reader stands: the last id it read, and how many entries the stream had added up to it. */
export interface SessionEndPosition {
  readonly lastId: string;
  readonly entriesAdded: number;
}

interface StreamInfo {
  readonly length: number;
  readonly entriesAdded: number;
  readonly lastGeneratedId: string;
  /** The newest id trimmed away (Redis 7: max-deleted-entry-id); 0-0 when nothing was. */
  readonly maxDeletedId: string;
}

/** Stream ids compared as (milliseconds, sequence). */
function compareStreamIds(a: string, b: string): number {
  const [aMs = 0n, aSeq = 0n] = a.split('-').map((part) => BigInt(part));
  const [bMs = 0n, bSeq = 0n] = b.split('-').map((part) => BigInt(part));
  return aMs !== bMs ? (aMs < bMs ? -1 : 1) : aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1;
}

/** XINFO STREAM (Redis 7: entries-added); null when the stream does not exist. */
async function streamInfo(redis: Redis, key: string): Promise<StreamInfo | null> {
  let answer: unknown[];
  try {
    answer = (await redis.call('XINFO', 'STREAM', key)) as unknown[];
  } catch (error) {
    if (/no such key/i.test(String((error as Error).message))) return null;
    throw error;
  }
  const fields = new Map<string, unknown>();
  for (let i = 0; i + 1 < answer.length; i += 2) fields.set(String(answer[i]), answer[i + 1]);
  return {
    length: Number(fields.get('length') ?? 0),
    entriesAdded: Number(fields.get('entries-added') ?? 0),
    lastGeneratedId: String(fields.get('last-generated-id') ?? '0-0'),
    maxDeletedId: String(fields.get('max-deleted-entry-id') ?? '0-0'),
  };
}

/** Taken as a broker process boots, before its listeners accept anyone. */
export async function currentSessionEndPosition(redis: Redis, redisKeyPrefix: string): Promise<SessionEndPosition> {
  const info = await streamInfo(redis, sessionEndStreamKey(redisKeyPrefix));
  return info ? { lastId: info.lastGeneratedId, entriesAdded: info.entriesAdded } : { lastId: '0-0', entriesAdded: 0 };
}

export interface SessionEndFollowerOptions {
  /** A connection of its own: XREAD BLOCK holds it. The follower closes it. */
  readonly redis: Redis;
  readonly redisKeyPrefix: string;
  readonly from: SessionEndPosition;
  /** Applies a notice to this process's brokers. */
  readonly apply: (notice: SessionEndNotice) => Promise<void>;
  /** Notices this process never read are gone: end every device session. */
  readonly onGap: (reason: string) => Promise<void>;
  readonly log: Logger;
}

export interface SessionEndFollower {
  close(): Promise<void>;
}

type StreamEntry = [id: Buffer, fields: Buffer[] | null];

/** A broker process's reader of the session-end stream. */
export function followSessionEnds(options: SessionEndFollowerOptions): SessionEndFollower {
  const { redis, log } = options;
  const key = sessionEndStreamKey(options.redisKeyPrefix);
  let { lastId, entriesAdded: position } = options.from;
  let running = true;
  let unreadable = false;

  /**
   * Entries added after lastId: (entries-added now) − position. Trimming removes the oldest
   * first, so they are all still there unless the stream is shorter than that. A stream that
   * vanished or counts fewer entries than we read was lost with Redis's data.
   */
  async function checkForGap(): Promise<void> {
    const info = await streamInfo(redis, key);
    const reason =
      info === null
        ? position > 0
          ? 'the session-end stream is gone (Redis lost its data)'
          : null
        : info.entriesAdded < position
          ? 'the session-end stream was recreated (Redis lost its data)'
          : compareStreamIds(info.maxDeletedId, lastId) > 0
            ? 'session-end notices were trimmed before this process read them (PROVISIO_SESSION_END_STREAM_MAX_LENGTH)'
            : info.length < info.entriesAdded - position
              ? `session-end notices were trimmed before this process read them (PROVISIO_SESSION_END_STREAM_MAX_LENGTH)`
              : null;
    if (reason === null) return;
    log.error({ reason }, 'session-end notices missed: ending every device session of this process');
    lastId = info?.lastGeneratedId ?? '0-0';
    position = info?.entriesAdded ?? 0;
    await options.onGap(reason);
  }

  async function applyEntries(entries: readonly StreamEntry[]): Promise<void> {
    for (const [id, fields] of entries) {
      lastId = id.toString('utf8');
      position += 1;
      const notice = decodeSessionEndFields(fields);
      if (!notice) {
        log.warn({ entry: lastId }, 'unreadable session-end notice skipped');
        continue;
      }
      try {
        await options.apply(notice);
      } catch (error) {
        log.error({ err: error, entry: lastId }, 'session-end notice not applied');
      }
    }
  }

  async function run(): Promise<void> {
    while (running) {
      try {
        // Before reading on: an entry after the last one read that was trimmed away is a notice
        // this process will never see (MAXLEN ~ trims whole nodes, so counting alone misses some).
        await checkForGap();
        const answer = (await redis.callBuffer('XREAD', 'COUNT', String(batchSize), 'BLOCK', String(sessionEndReadBlockMs), 'STREAMS', key, lastId)) as
          [Buffer, StreamEntry[]][] | null;
        const entries = answer?.[0]?.[1] ?? [];
        await applyEntries(entries);
        if (unreadable) log.info('session-end notices readable again');
        unreadable = false;
        // Idle (a read timed out) or behind (a full batch): the moments to see whether notices were lost.
        if (entries.length === 0 || entries.length === batchSize) await checkForGap();
      } catch (error) {
        if (!running) return;
        if (!unreadable) log.warn({ err: (error as Error).message }, 'session-end notices not readable; retrying from the last one read');
        unreadable = true;
        await sleep(retryDelayMs);
      }
    }
  }

  const loop = run();
  return {
    async close() {
      running = false;
      redis.disconnect(); // ends the blocked XREAD now rather than within the block period
      await loop;
    },
  };
}
