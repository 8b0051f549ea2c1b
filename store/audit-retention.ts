import { AuditArchive } from './audit-archive.ts';
import type { AuditEvent, ProvisionStore } from './types.ts';

export interface AuditRetentionSettings {
  /** Events older than this many days are deleted; 0 = kept for ever (PROVISIO_AUDIT_RETENTION_DAYS). */
  readonly retentionDays: number;
  /** At most this many events are kept, the oldest deleted first; 0 = no bound (PROVISIO_AUDIT_MAX_EVENTS). */
  readonly maxEvents: number;
  /** Time between two runs (PROVISIO_AUDIT_RETENTION_INTERVAL_SECONDS). */
  readonly intervalMs: number;
  /** Where events are archived before they are deleted; absent = not archived (PROVISIO_AUDIT_ARCHIVE_DIR). */
  readonly archiveDir?: string | undefined;
}

export interface RetentionLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

export interface RetentionRun {
  readonly deleted: number;
  /** Of those, events deleted by the count bound before they reached the retention age. */
  readonly deletedYoung: number;
}

/** Events per store call: a few milliseconds of work for SQLite or Redis, never a long block. */
export const retentionBatchSize = 500;
/** Pause between two batches of one run, so requests and devices get their turns. */
const batchPauseMs = 20;
const day = 24 * 60 * 60 * 1000;

/**
 * Audit log retention (issue 20 §3): in the background, every interval, deletes the events older
 * than the retention age and those beyond the newest maxEvents, in batches of 500 from the log's
 * oldest end (ProvisionStore.deleteExpiredAudit), archiving each batch first when an archive
 * directory is set. Runs never overlap; a failed run (store unavailable, archive not writable)
 * deletes nothing more, is logged and tried again at the next interval. Several processes may run
 * it on one store: a deletion is idempotent (only the archive could get a line twice).
 */
export class AuditRetention {
  private readonly archive: AuditArchive | null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private closed = false;

  constructor(
    private readonly store: ProvisionStore,
    private readonly settings: AuditRetentionSettings,
    private readonly log: RetentionLogger,
    private readonly now: () => number = Date.now,
  ) {
    this.archive = settings.archiveDir ? new AuditArchive(settings.archiveDir) : null;
  }

  /** Whether anything would ever be deleted. */
  get enabled(): boolean {
    return this.settings.retentionDays > 0 || this.settings.maxEvents > 0;
  }

  /** Schedules the runs: the first one soon after start-up (at most 5 s), then every interval. */
  start(): this {
    if (this.enabled && !this.closed) this.schedule(Math.min(this.settings.intervalMs, 5000));
    return this;
  }

  /** One run: deletes batch after batch until nothing more has expired (or close() is called). */
  async runOnce(): Promise<RetentionRun> {
    const run = this.deleteExpired();
    this.running = run.catch(() => undefined);
    try {
      return await run;
    } finally {
      this.running = null;
    }
  }

  /** Stops scheduling and waits for a run in progress to finish its batch. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      this.runOnce()
        .then(
          (run) => {
            if (run.deleted > 0)
              this.log.info({ deleted: run.deleted, archiveDir: this.settings.archiveDir ?? null }, 'audit retention deleted expired events');
            if (run.deletedYoung > 0) {
              this.log.warn(
                { deleted: run.deletedYoung, maxEvents: this.settings.maxEvents, retentionDays: this.settings.retentionDays },
                'audit retention deleted events younger than the retention age to keep the log within PROVISIO_AUDIT_MAX_EVENTS',
              );
            }
          },
          (error: unknown) => this.log.warn({ err: error }, 'audit retention failed; nothing more was deleted, retrying at the next interval'),
        )
        .finally(() => {
          if (!this.closed) this.schedule(this.settings.intervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  private async deleteExpired(): Promise<RetentionRun> {
    const { retentionDays, maxEvents } = this.settings;
    const before = retentionDays > 0 ? this.now() - retentionDays * day : undefined;
    let deleted = 0;
    let deletedYoung = 0;
    const beforeDelete = async (events: readonly AuditEvent[]): Promise<void> => {
      deletedYoung += events.filter((event) => before === undefined || event.time >= before).length;
      await this.archive?.write(events);
    };
    while (!this.closed && this.enabled) {
      const count = await this.store.deleteExpiredAudit({
        ...(before !== undefined ? { before } : {}),
        ...(maxEvents > 0 ? { keepNewest: maxEvents } : {}),
        limit: retentionBatchSize,
        beforeDelete,
      });
      deleted += count;
      if (count < retentionBatchSize) break;
      await new Promise((resolve) => setTimeout(resolve, batchPauseMs));
    }
    return { deleted, deletedYoung };
  }
}
