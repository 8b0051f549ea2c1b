import type { AuditEvent, AuditFilter, ProvisionStore } from '../store/types.ts';

/** How far back in time each look reaches before the newest event seen: clocks of the processes of a cluster differ a little. */
const clockSkewMs = 5_000;
const pageSize = 1000;
/** Pages read by one look at most; the rest comes at the next look. */
const maxPagesPerLook = 10;

function isNewer(id: string, than: string | null): boolean {
  if (than === null) return true;
  if (/^\d+$/.test(id) && /^\d+$/.test(than)) return BigInt(id) > BigInt(than);
  return id > than;
}

/**
 * Follows the audit log of one scope (every account, or one) from where it stands now, for the
 * event stream of the console (GET /api/v1/events). The log is shared by every process of a
 * cluster through the store, so the follower reads the store instead of listening to one
 * process: each look lists the events since a little before the newest time seen and keeps those
 * whose id (increasing, assigned by the store) is above the newest id seen.
 */
export class AuditFollower {
  private lastId: string | null = null;
  private lastTime: number;

  constructor(
    private readonly store: Pick<ProvisionStore, 'listAudit'>,
    private readonly accountId: string | undefined,
    now: number = Date.now(),
  ) {
    this.lastTime = now;
  }

  private get scope(): AuditFilter {
    return this.accountId !== undefined ? { accountId: this.accountId } : {};
  }

  /**
   * Starts after `lastEventId` (an EventSource's Last-Event-ID when it reconnects: what it missed
   * in the last minute comes again), or after the newest event of the scope.
   */
  async start(lastEventId?: string): Promise<void> {
    if (lastEventId !== undefined && /^\d{1,20}$/.test(lastEventId)) {
      this.lastId = lastEventId;
      this.lastTime -= 60_000;
      return;
    }
    const { total } = await this.store.listAudit({ ...this.scope, limit: 1 });
    if (total === 0) return;
    const newest = (await this.store.listAudit({ ...this.scope, offset: total - 1, limit: 1 })).items[0];
    if (newest) {
      this.lastId = newest.id;
      this.lastTime = Math.max(this.lastTime, newest.time);
    }
  }

  /** The events appended since the last look, oldest first. */
  async next(): Promise<AuditEvent[]> {
    const fresh: AuditEvent[] = [];
    let offset = 0;
    for (let pages = 0; pages < maxPagesPerLook; pages++) {
      const page = await this.store.listAudit({ ...this.scope, startDate: this.lastTime - clockSkewMs, offset, limit: pageSize });
      for (const event of page.items) if (isNewer(event.id, this.lastId)) fresh.push(event);
      offset += page.items.length;
      if (page.items.length < pageSize || offset >= page.total) break;
    }
    for (const event of fresh) {
      if (isNewer(event.id, this.lastId)) this.lastId = event.id;
      this.lastTime = Math.max(this.lastTime, event.time);
    }
    return fresh;
  }
}
