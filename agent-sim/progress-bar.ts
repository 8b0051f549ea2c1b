import type { WriteStream } from 'node:tty';

/** A one-line live progress bar on a terminal; silent when the stream is not a TTY. */
export class ProgressBar {
  private lastDraw = 0;
  constructor(
    private readonly stream: NodeJS.WriteStream | WriteStream,
    private readonly total: number,
  ) {}

  /** `renewals`: certificates renewed and renewal attempts failed so far, for a fleet that stays online. */
  update(done: number, failed: number, startedAt: number, force = false, renewals?: { readonly renewed: number; readonly failed: number }): void {
    if (!this.stream.isTTY) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const width = 30;
    const filled = Math.round(((done + failed) / Math.max(1, this.total)) * width);
    const rate = done / Math.max(0.001, (now - startedAt) / 1000);
    this.stream.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done + failed}/${this.total} ok ${done} failed ${failed} ${rate.toFixed(1)}/s ` +
        (renewals ? `renewed ${renewals.renewed} renewal failures ${renewals.failed} ` : ''),
    );
  }

  finish(): void {
    if (this.stream.isTTY) this.stream.write('\n');
  }
}
