import type { Logger } from '../log/logger.ts';

interface Burst {
  count: number;
  readonly fields: Record<string, unknown>;
  readonly timer: NodeJS.Timeout;
}

/**
 * Logs a burst of like events (connections refused or timed out, from one address) as two lines
 * rather than one per event: the first event at once, and, when more followed within `windowMs`,
 * their count at the end of the window. A flood cannot turn into a flood of log lines.
 */
export class BurstLog {
  private readonly bursts = new Map<string, Burst>();

  constructor(
    private readonly log: Logger,
    private readonly message: string,
    private readonly windowMs = 10_000,
  ) {}

  note(key: string, fields: Record<string, unknown>): void {
    const burst = this.bursts.get(key);
    if (burst) {
      burst.count += 1;
      return;
    }
    this.log.warn(fields, this.message);
    const timer = setTimeout(() => this.end(key), this.windowMs);
    timer.unref();
    this.bursts.set(key, { count: 1, fields, timer });
  }

  private end(key: string): void {
    const burst = this.bursts.get(key);
    this.bursts.delete(key);
    if (burst && burst.count > 1) this.log.warn({ ...burst.fields, count: burst.count, windowMs: this.windowMs }, `${this.message} (burst)`);
  }

  /** Ends every burst now, logging the counts. */
  close(): void {
    for (const [key, burst] of [...this.bursts]) {
      clearTimeout(burst.timer);
      this.end(key);
    }
  }
}
