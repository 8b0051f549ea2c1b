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
