import type Database from 'better-sqlite3';
import { PlatformError } from '../../errors/platform-error.ts';

/**
 * The group holding the process's open transaction. Two connections in one process (two store
 * instances on one file) must not both wait for the turn's end: the second's BEGIN would block
 * the event loop on the first's lock until busy_timeout. The first commits before the second begins.
 */
let openGroup: GroupCommit | null = null;

/** SQLite rolled the whole transaction back (disk full, I/O error): its writes are gone. */
const rolledBack = (): PlatformError => new PlatformError('STORE_UNAVAILABLE', { detail: 'SQLite rolled back the transaction' });

interface Waiter {
  settle(failure: unknown): void;
}

/**
 * Group commit: every write made during one turn of the event loop joins one transaction, which
 * commits in the turn's check phase (setImmediate). A commit writes its pages to the WAL, and
 * one per statement was most of the store's cost per device (an audit insert alone took ~0.2 ms,
 * docs/BENCHMARKS.md); one per turn is paid once for everything that turn wrote.
 *
 * The guarantee callers rely on does not change: a write's promise settles only after the
 * commit that holds it, so whatever the platform acknowledged (an HTTP answer, an MQTT reply)
 * is on disk first. A failed commit rejects every write of the group. Reads run at once and see
 * the turn's uncommitted writes, as they would inside one transaction.
 */
export class GroupCommit {
  private waiting: Waiter[] = [];
  private open = false;

  constructor(private readonly db: Database.Database) {}

  /** Called before a write statement: opens the turn's transaction unless one is open. */
  begin(): void {
    if (this.open && !this.db.inTransaction) {
      this.settle(rolledBack());
    }
    if (this.db.inTransaction) return;
    if (openGroup !== null && openGroup !== this) openGroup.commit();
    this.db.exec('BEGIN IMMEDIATE');
    this.open = true;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the module's one open group, not an alias for a closure
    openGroup = this;
    setImmediate(() => this.commit());
  }

  /** The value of work that wrote, once the transaction holding the write has committed. */
  committed<T>(value: T): Promise<T> {
    if (!this.open) return Promise.resolve(value);
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ settle: (failure) => (failure === undefined ? resolve(value) : reject(failure)) });
    });
  }

  /** Commits now (the scheduled commit then finds nothing to do); used before closing. */
  commit(): void {
    if (!this.open) return;
    let failure: unknown;
    if (!this.db.inTransaction) {
      failure = rolledBack();
    } else {
      try {
        this.db.exec('COMMIT');
      } catch (error) {
        failure = error;
        try {
          if (this.db.inTransaction) this.db.exec('ROLLBACK');
        } catch {
          // The commit's error is the one to report; a failed rollback leaves SQLite to recover on reopen.
        }
      }
    }
    this.settle(failure);
  }

  private settle(failure: unknown): void {
    const waiting = this.waiting;
    this.waiting = [];
    this.open = false;
    if (openGroup === this) openGroup = null;
    for (const waiter of waiting) waiter.settle(failure);
  }
}
