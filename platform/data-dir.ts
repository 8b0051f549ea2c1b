import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { describeErrno, errnoOf } from '../errors/file-system-cause.ts';
import { PlatformError } from '../errors/platform-error.ts';

/**
 * Creates the data directory (0700) and checks it can be written, before anything is stored
 * there. The detail names the cause: `EROFS (read-only file system)`, `EACCES …`, `ENOTDIR …`.
 */
export function prepareDataDir(dataDir: string): void {
  try {
    makeDirectories(dataDir, 0o700);
    accessSync(dataDir, constants.W_OK | constants.R_OK);
  } catch (error) {
    const code = errnoOf(error);
    throw new PlatformError('DATA_DIR_UNUSABLE', { detail: `${dataDir}: ${code ? describeErrno(code) : 'not writable'}`, cause: error });
  }
}

/**
 * mkdir -p, one level at a time: Node's recursive mkdir reports ENOENT when a parent cannot be
 * created on a read-only file system, hiding the EROFS that each single mkdir reports.
 */
function makeDirectories(directory: string, mode: number): void {
  try {
    mkdirSync(directory, { mode });
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'EEXIST' && statSync(directory).isDirectory()) return;
    if (code !== 'ENOENT' || dirname(directory) === directory) throw error;
    makeDirectories(dirname(directory), mode);
    mkdirSync(directory, { mode });
  }
}
