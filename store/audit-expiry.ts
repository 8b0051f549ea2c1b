import type { AuditEvent, AuditExpiry } from './types.ts';

/**
 * The rule both backends apply in deleteExpiredAudit (store/types.ts), so they cannot drift:
 * the batch size, and which of the oldest events have expired.
 */

export const maxAuditDeletionBatch = 1000;

/** expiry.limit clamped to 1..1000. */
export function auditDeletionLimit(expiry: AuditExpiry): number {
  return Math.min(maxAuditDeletionBatch, Math.max(1, Math.floor(expiry.limit) || 1));
}

/**
 * The leading run of `oldest` (events in id order) that has expired, by age or by count.
 * `newestId` is the newest event's id in the log (null: the log is empty).
 */
export function expiredPrefix(oldest: readonly AuditEvent[], expiry: AuditExpiry, newestId: number | null): AuditEvent[] {
  const highestOverCount = expiry.keepNewest !== undefined && newestId !== null ? newestId - Math.max(0, Math.floor(expiry.keepNewest)) : -Infinity;
  const expired: AuditEvent[] = [];
  for (const event of oldest) {
    const byAge = expiry.before !== undefined && event.time < expiry.before;
    const byCount = Number(event.id) <= highestOverCount;
    if (!byAge && !byCount) break;
    expired.push(event);
  }
  return expired;
}

/** What a backend gives deleteExpiredAudit: a read of the log's oldest end, and a delete. */
export interface AuditLogEnd {
  /** The oldest `limit` events in id order, and the newest id in the log (null: empty). */
  oldest(limit: number): Promise<{ readonly events: readonly AuditEvent[]; readonly newestId: number | null }>;
  /** Deletes every event with an id up to `lastId` (all of them were read by oldest); answers how many it deleted. */
  deleteThrough(lastId: string, events: readonly AuditEvent[]): Promise<number>;
}

/**
 * deleteExpiredAudit on any backend: read the oldest end, keep its expired run, let the caller
 * archive it, delete it. Ids only increase, so nothing appended meanwhile is at or below the
 * batch's last id, and deleting "through" it removes exactly what was read (what another process
 * already deleted is simply not counted).
 */
export async function deleteExpiredAuditEvents(log: AuditLogEnd, expiry: AuditExpiry): Promise<number> {
  const { events, newestId } = await log.oldest(auditDeletionLimit(expiry));
  const expired = expiredPrefix(events, expiry, newestId);
  const last = expired.at(-1);
  if (!last) return 0;
  await expiry.beforeDelete?.(expired);
  return log.deleteThrough(last.id, expired);
}
