/**
 * A lock between processes sharing a directory: the lock file is created with O_EXCL and holds
 * the owner's pid; one older than a minute was left by a process that died holding it. The same
 * lock platform/ca-lock.ts takes, so the CA commands exclude a starting process.
 */
import { open, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { PlatformError } from '../errors/platform-error.ts';
import type { Logger } from '../log/logger.ts';

/** A lock older than this is left over by a process that died while holding it. */
const staleLockMs = 60_000;

/** Runs `work` while holding `lockFile`; waits for another holder (at most five minutes). */
export async function withFileLock<T>(lockFile: string, log: Logger, work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 5 * staleLockMs;
  for (;;) {
    try {
      const handle = await open(lockFile, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        throw new PlatformError('DATA_DIR_UNUSABLE', { detail: `${path.dirname(lockFile)}: ${code ?? 'cannot be written'}`, cause: error });
      }
      const age = await stat(lockFile).then(
        (info) => Date.now() - info.mtimeMs,
        () => 0,
      );
      if (age > staleLockMs) {
        log.warn({ lockFile }, 'removing a stale lock');
        await rm(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${lockFile} held for too long`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    return await work();
  } finally {
    await rm(lockFile, { force: true });
  }
}
