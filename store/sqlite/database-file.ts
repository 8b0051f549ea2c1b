import { accessSync, chmodSync, closeSync, constants, openSync, statSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { describeErrno, errnoOf, errnoOfSqliteCode } from '../../errors/file-system-cause.ts';

/** The database file and those SQLite keeps beside it; SQLite gives -wal, -shm and -journal the database file's mode. */
const companions = ['', '-wal', '-shm', '-journal'];
const fileMode = 0o600;

/**
 * Creates the database file with mode 0600 before SQLite opens it (SQLite would create it 0644,
 * and its -wal and -shm files after it), and tightens those of an older version to 0600.
 * Throws the file system's error (EROFS, EACCES, …).
 */
export function prepareDatabaseFile(file: string): void {
  closeSync(openSync(file, 'a', fileMode));
  for (const suffix of companions) {
    const path = `${file}${suffix}`;
    try {
      if ((statSync(path).mode & 0o777) !== fileMode) chmodSync(path, fileMode);
    } catch (error) {
      if (errnoOf(error) !== 'ENOENT') throw error;
    }
  }
}

/**
 * Why SQLite could not use `file`, in an operator's words: the errno of a file-system error,
 * SQLITE_FULL as ENOSPC, and for SQLite's vaguer codes (IOERR, CANTOPEN, READONLY) a look at the
 * directory: read-only or not writable (access), or out of space (statfs). Falls back to the code.
 */
export function databaseFailureCause(error: unknown, file: string): string {
  const errno = errnoOf(error);
  if (errno) return describeErrno(errno);
  const sqliteCode = (error as { code?: unknown } | null)?.code;
  const known = typeof sqliteCode === 'string' ? errnoOfSqliteCode(sqliteCode) : undefined;
  const probed = known ?? probeDirectory(dirname(file));
  const code = typeof sqliteCode === 'string' ? sqliteCode : 'error';
  return probed ? `${describeErrno(probed)}, SQLite ${code}` : code;
}

function probeDirectory(directory: string): string | undefined {
  try {
    accessSync(directory, constants.W_OK);
  } catch (error) {
    return errnoOf(error);
  }
  try {
    const space = statfsSync(directory);
    if (space.bavail === 0) return 'ENOSPC';
    if (space.ffree === 0) return 'ENOSPC';
  } catch {
    // statfs is a diagnosis only.
  }
  return undefined;
}
