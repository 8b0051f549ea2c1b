import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditEvent } from './types.ts';

/**
 * The archive audit retention writes before it deletes (PROVISIO_AUDIT_ARCHIVE_DIR): one NDJSON
 * file per UTC day of the events' time, `audit-YYYY-MM-DD.ndjson`, each line an event as
 * `GET /api/v1/audit-events` shows it (time in ISO 8601). Lines are appended and flushed to disk
 * (fdatasync) before the events are deleted, and a failed write is cut back to where it began; a crash between the two archives them again on the
 * next run, so a line may repeat (its id tells). Files 0600, the directory 0700.
 */
export class AuditArchive {
  constructor(readonly directory: string) {}

  fileOf(time: number): string {
    return join(this.directory, `audit-${new Date(time).toISOString().slice(0, 10)}.ndjson`);
  }

  async write(events: readonly AuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    await mkdir(this.directory, { recursive: true, mode: 0o700 });
    const byFile = new Map<string, string[]>();
    for (const event of events) {
      const file = this.fileOf(event.time);
      const lines = byFile.get(file) ?? [];
      lines.push(`${JSON.stringify({ ...event, time: new Date(event.time).toISOString() })}\n`);
      byFile.set(file, lines);
    }
    for (const [file, lines] of byFile) {
      const handle = await open(file, 'a', 0o600);
      try {
        const { size } = await handle.stat();
        try {
          await handle.writeFile(lines.join(''));
          await handle.datasync();
        } catch (error) {
          // A disk that filled up mid-write leaves no half line behind for the next run to follow.
          await handle.truncate(size).catch(() => undefined);
          throw error;
        }
      } finally {
        await handle.close();
      }
    }
  }
}
