/**
 * Names the file-system cause of a failure (issue 12 §4): an operator told `EROFS (read-only
 * file system)` knows what to fix; one told `ENOENT` or "cannot prepare the database" does not.
 * Pure: errno codes and SQLite result codes in, words out.
 */

/** errno codes a disk or file system gives, and what each means to an operator. */
const causeWords: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'input/output error',
  ENOTDIR: 'a part of the path is not a directory',
  ENOENT: 'no such file or directory',
  EEXIST: 'a file is in the way',
  EISDIR: 'is a directory',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
};

/**
 * Causes that are the storage's fault, not the request's: whatever was being written (a bundle,
 * the database, an archive) is answered 503 STORE_UNAVAILABLE, and a retry may succeed once
 * an operator has made room or remounted the disk.
 */
export const storageFailureCodes: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO']);

/** The errno code (ENOSPC, EROFS, …) of an error or of one of its causes, if any. */
export function errnoOf(error: unknown): string | undefined {
  for (let current = error, depth = 0; current !== null && typeof current === 'object' && depth < 5; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** `ENOSPC (no space left on the device)`; an unknown code as it is. */
export function describeErrno(code: string): string {
  const words = causeWords[code];
  return words ? `${code} (${words})` : code;
}

/**
 * The errno a SQLite result code stands for, when only one can: SQLITE_FULL is a full disk (or a
 * quota, which SQLite reports alike). Others (IOERR, CANTOPEN, READONLY) need a look at the disk.
 */
export function errnoOfSqliteCode(code: string): string | undefined {
  return code === 'SQLITE_FULL' ? 'ENOSPC' : undefined;
}
