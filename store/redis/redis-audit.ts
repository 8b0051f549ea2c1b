import { buildAuditEvent, pageWindow } from '../records.ts';
import type { AuditEvent, AuditFilter, NewAuditEvent, Page } from '../types.ts';
import { pageFromIndex } from './index-paging.ts';
import { appendAuditScript } from './record-scripts.ts';
import { parseRecord, type RedisContext } from './redis-context.ts';

/** The audit log: ids from INCR (increasing across every worker), events in a hash, a sorted set by id. */
export class RedisAudit {
  constructor(private readonly context: RedisContext) {}

  async append(input: NewAuditEvent): Promise<AuditEvent> {
    const { keys, scripts } = this.context;
    const event = buildAuditEvent(input, Date.now());
    const { values } = await scripts.run(appendAuditScript, [keys.auditSequence(), keys.auditEvents(), keys.auditIds()], [JSON.stringify(event)]);
    return { id: String(values[0]), ...event };
  }

  /** The oldest `limit` events (by rank in the id index) and the newest id. */
  async oldest(limit: number): Promise<{ events: AuditEvent[]; newestId: number | null }> {
    const { redis, keys } = this.context;
    const [ids, newest] = await Promise.all([redis.zrange(keys.auditIds(), 0, limit - 1), redis.zrange(keys.auditIds(), -1, -1)]);
    const records = ids.length === 0 ? [] : await redis.hmget(keys.auditEvents(), ...ids);
    const events: AuditEvent[] = [];
    ids.forEach((id, index) => {
      const json = records[index];
      // An id whose event is gone is being deleted by another process: deleteThrough removes it too.
      if (json) events.push({ id, ...parseRecord<Omit<AuditEvent, 'id'>>(json) });
    });
    return { events, newestId: newest[0] === undefined ? null : Number(newest[0]) };
  }

  /**
   * Deletes the events read by oldest (and any id left in the index up to lastId) in one
   * transaction of two commands, each O(batch); answers how many events this call deleted.
   */
  async deleteThrough(lastId: string, events: readonly AuditEvent[]): Promise<number> {
    const { redis, keys } = this.context;
    const results = await redis
      .multi()
      .hdel(keys.auditEvents(), ...events.map((event) => event.id))
      .zremrangebyscore(keys.auditIds(), '-inf', lastId)
      .exec();
    const [deleted] = results ?? [];
    if (!deleted || deleted[0]) throw deleted?.[0] ?? new Error('the audit deletion was discarded');
    return Number(deleted[1]);
  }

  list(filter: AuditFilter = {}): Promise<Page<AuditEvent>> {
    const { redis, keys } = this.context;
    const { accountId, clientId, provisionRequestId, type, startDate, endDate } = filter;
    const filtered = [accountId, clientId, provisionRequestId, type, startDate, endDate].some((value) => value !== undefined);
    return pageFromIndex(
      redis,
      {
        index: keys.auditIds(),
        load: (ids) => redis.hmget(keys.auditEvents(), ...ids),
        parse: (json, id): AuditEvent => ({ id, ...parseRecord<Omit<AuditEvent, 'id'>>(json) }),
        matches: filtered
          ? (event) =>
              (accountId === undefined || event.accountId === accountId) &&
              (clientId === undefined || event.clientId === clientId) &&
              (provisionRequestId === undefined || event.provisionRequestId === provisionRequestId) &&
              (type === undefined || event.type === type) &&
              (startDate === undefined || event.time >= startDate) &&
              (endDate === undefined || event.time <= endDate)
          : undefined,
      },
      pageWindow(filter),
    );
  }
}
