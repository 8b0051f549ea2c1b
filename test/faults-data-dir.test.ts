import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePlatformPorts, startPlatformProcess, stopPlatformProcess } from './support/platform-process.ts';

/**
 * A data directory the platform cannot write stops it at start with DATA_DIR_UNUSABLE's message
 * and exit code 1, not a stack trace, and nothing is written. Tests run as root in CI, and root
 * ignores file modes, so the unwritable directory is made a path under a regular file (ENOTDIR);
 * the chmod variant runs only for other users. A full disk is not simulated (docs/SECURITY.md).
 */
describe('an unusable data directory', () => {
  let workDir: string;
  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'provisio-datadir-'));
  });
  after(() => rm(workDir, { recursive: true, force: true }));

  async function startFails(dataDir: string): Promise<string> {
    const platform = await startPlatformProcess({ dataDir, ports: await freePlatformPorts(), adminToken: 'data-dir-admin-token-0123456789', waitUntilRunning: false });
    const exit = await Promise.race([platform.exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 60_000).unref())]);
    if (exit === 'still running') await stopPlatformProcess(platform, 'SIGKILL');
    assert.equal(exit, '1', platform.output());
    return platform.output();
  }

  it('Should not start - data directory under a regular file (ENOTDIR): a clear message, exit 1, nothing written', async () => {
    const file = join(workDir, 'a-file');
    await writeFile(file, 'not a directory');
    const output = await startFails(join(file, 'data'));
    assert.match(output, /^provisio: The data directory cannot be written.*ENOTDIR/m);
    assert.doesNotMatch(output, /\n\s+at /, 'no stack trace');
  });

  it('Should not start - data directory is read-only', { skip: process.getuid?.() === 0 ? 'root ignores file modes' : false }, async () => {
    const dataDir = join(workDir, 'read-only');
    await mkdir(dataDir);
    await chmod(dataDir, 0o500);
    const output = await startFails(dataDir);
    assert.match(output, /^provisio: The data directory cannot be written/m);
    assert.deepEqual(await readdir(dataDir), []);
  });
});
