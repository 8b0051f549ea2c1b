import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeErrno, errnoOf } from '../errors/file-system-cause.ts';
import { PlatformError } from '../errors/platform-error.ts';

export const adminTokenFileName = 'admin-token';

/**
 * Where a generated admin token goes (issue 20 §3): not on the standard output beside the JSON
 * log, where a log collector would keep it, but into {dataDir}/admin-token, mode 0600, whose path
 * alone is printed. Written once, at the start that generated the token (only its hash is
 * stored); the operator reads it and moves it out of the data directory.
 */
export function writeAdminTokenFile(dataDir: string, token: string): string {
  const path = join(dataDir, adminTokenFileName);
  try {
    writeFileSync(path, `${token}\n`, { mode: 0o600 });
    chmodSync(path, 0o600); // a file left by an earlier start keeps its mode on overwrite
  } catch (error) {
    const code = errnoOf(error);
    throw new PlatformError('DATA_DIR_UNUSABLE', { detail: `cannot write the admin token to ${path}: ${code ? describeErrno(code) : 'error'}`, cause: error });
  }
  return path;
}

/** The line printed instead of the token. */
export function adminTokenNotice(path: string): string {
  return `\n  admin API token generated (first start): written to ${path} (mode 0600). Read it, keep it somewhere safe and delete the file; the platform keeps only its hash.\n\n`;
}
