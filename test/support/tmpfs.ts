/**
 * A real small file system for the disk-full and read-only tests: a tmpfs of a few hundred KiB
 * is a disk that fills up for real (ENOSPC), and `mount -o remount,ro` makes it read-only for
 * real (EROFS). Linux lets only root mount; elsewhere the tests are skipped with a loud message.
 */
import { execFile } from 'node:child_process';
import { mkdir, open } from 'node:fs/promises';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Tmpfs {
  readonly path: string;
  remountReadOnly(): Promise<void>;
  /** Writes one file until the file system answers ENOSPC; answers the bytes written. */
  fill(file: string): Promise<number>;
  unmount(): Promise<void>;
}

let warned = false;

/** Mounts a tmpfs of `sizeBytes` on `path` (created if needed), unmounted when the test ends; null (test skipped, loudly) when mount is not permitted. */
export async function mountTmpfsOrSkip(t: TestContext, path: string, sizeBytes: number): Promise<Tmpfs | null> {
  await mkdir(path, { recursive: true });
  let reason: string | null = null;
  if (process.platform !== 'linux') reason = 'tmpfs needs Linux';
  else if (process.getuid?.() !== 0) reason = `mount needs root (uid ${process.getuid?.()})`;
  else {
    try {
      await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', path]);
    } catch (error) {
      reason = `mount -t tmpfs failed: ${(error as Error).message.trim()}`;
    }
  }
  if (reason !== null) {
    if (!warned) {
      warned = true;
      process.stderr.write(`\n*** SKIPPING the real disk-full / read-only tests: ${reason}. Run them as root on Linux (CI does). ***\n\n`);
    }
    t.skip(reason);
    return null;
  }
  let mounted = true;
  const tmpfs: Tmpfs = {
    path,
    async remountReadOnly() {
      await run('mount', ['-o', 'remount,ro', path]);
    },
    async fill(file) {
      const handle = await open(file, 'w');
      const chunk = Buffer.alloc(64 * 1024, 1);
      let written = 0;
      try {
        for (;;) {
          const { bytesWritten } = await handle.write(chunk);
          written += bytesWritten;
          if (bytesWritten < chunk.length) break;
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      } finally {
        await handle.close();
      }
      return written;
    },
    async unmount() {
      if (!mounted) return;
      mounted = false;
      await run('umount', ['-l', path]);
    },
  };
  t.after(() => tmpfs.unmount());
  return tmpfs;
}
