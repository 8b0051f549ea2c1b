/**
 * Temporary directories of a benchmark, removed when the process exits however it exits
 * (the `finally` blocks remove them on a normal end; this catches signals and crashes).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const directories = new Set<string>();
let hookInstalled = false;

export function makeTempDir(prefix: string): string {
  if (!hookInstalled) {
    hookInstalled = true;
    process.on('exit', () => {
      for (const directory of directories) rmSync(directory, { recursive: true, force: true });
    });
  }
  const directory = mkdtempSync(path.join(os.tmpdir(), prefix));
  directories.add(directory);
  return directory;
}
