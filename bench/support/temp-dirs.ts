/**
 * Temporary directories of a benchmark, removed when the process exits however it exits
 * (the `finally` blocks remove them on a normal end; this catches signals and crashes).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const directories = new Set<string>();
let hookInstalled = false;

/**
 * Where files that stand in for a simulated device's flash go: memory when the machine has it.
 * Creating thousands of files a round on this VM's disk cost the simulator 3-6 ms of kernel CPU
 * per device on the cores the platform needs (agent-sim profile, docs/BENCHMARKS.md).
 */
export function inMemoryBase(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
}

export function makeTempDir(prefix: string, base = os.tmpdir()): string {
  if (!hookInstalled) {
    hookInstalled = true;
    process.on('exit', () => {
      for (const directory of directories) rmSync(directory, { recursive: true, force: true });
    });
  }
  const directory = mkdtempSync(path.join(base, prefix));
  directories.add(directory);
  return directory;
}
