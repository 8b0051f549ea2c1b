import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestPlatform } from './support/platform-fixture.ts';
import { freePlatformPorts, startPlatformProcess, stopPlatformProcess } from './support/platform-process.ts';
import { mountTmpfsOrSkip } from './support/tmpfs.ts';

/**
 * A data directory the platform cannot write stops it at start with DATA_DIR_UNUSABLE's message
 * and exit code 1, not a stack trace, and nothing is written. Tests run as root in CI, and root
 * ignores file modes, so the unwritable directory is made a path under a regular file (ENOTDIR);
 * the chmod variant runs only for other users. A read-only and a full disk are real: a small
 * tmpfs, remounted read-only or filled up (test/support/tmpfs.ts; skipped loudly without root).
 * Every message names the cause (issue 12 §4): EROFS, ENOSPC, ENOTDIR, not ENOENT.
 */
describe('an unusable data directory', () => {
  let workDir: string;
  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'provisio-datadir-'));
  });
  after(() => rm(workDir, { recursive: true, force: true }));

  async function startFails(dataDir: string): Promise<string> {
    const platform = await startPlatformProcess({
      dataDir,
      ports: await freePlatformPorts(),
      adminToken: 'data-dir-admin-token-0123456789',
      waitUntilRunning: false,
    });
    const exit = await Promise.race([platform.exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 60_000).unref())]);
    if (exit === 'still running') await stopPlatformProcess(platform, 'SIGKILL');
    assert.equal(exit, '1', platform.output());
    return platform.output();
  }

  it('Should not start - data directory under a regular file (ENOTDIR): a clear message, exit 1, nothing written', async () => {
    const file = join(workDir, 'a-file');
    await writeFile(file, 'not a directory');
    const output = await startFails(join(file, 'data'));
    assert.match(output, /^provisio: The data directory cannot be written.*ENOTDIR \(a part of the path is not a directory\)/m);
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

  it('Should not start - read-only file system: names EROFS (not ENOENT) for a new and for an existing data directory', async (t) => {
    const disk = await mountTmpfsOrSkip(t, join(workDir, 'read-only-fs'), 256 * 1024);
    if (!disk) return;
    await mkdir(join(disk.path, 'existing'), { mode: 0o700 });
    await disk.remountReadOnly();
    for (const dataDir of [join(disk.path, 'new', 'data'), join(disk.path, 'existing')]) {
      const output = await startFails(dataDir);
      assert.match(output, new RegExp(`^provisio: The data directory cannot be written: ${dataDir}: EROFS \\(read-only file system\\)`, 'm'));
      assert.doesNotMatch(output, /ENOENT/);
      assert.doesNotMatch(output, /\n\s+at /, 'no stack trace');
    }
  });

  it('Should not start - full disk: names ENOSPC, not just "cannot prepare the SQLite database"', async (t) => {
    const disk = await mountTmpfsOrSkip(t, join(workDir, 'full-fs'), 256 * 1024);
    if (!disk) return;
    assert.ok((await disk.fill(join(disk.path, 'filler'))) > 0);
    const output = await startFails(join(disk.path, 'data'));
    assert.match(output, /^provisio: The provision store is unavailable: cannot (open|prepare) the SQLite database .*ENOSPC \(no space left on the device\)/m);
    assert.doesNotMatch(output, /\n\s+at /, 'no stack trace');
  });
});

describe('a disk that fills up while running', () => {
  it('Should answer a bundle upload 503 STORE_UNAVAILABLE naming ENOSPC, keep no partial file, and store the next bundle that fits', async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'provisio-full-bundles-'));
    let fixture: Awaited<ReturnType<typeof startTestPlatform>> | undefined;
    // Only the bundles live on the small disk: the store and the CA keep working.
    const disk = await mountTmpfsOrSkip(t, join(dataDir, 'bundles'), 1024 * 1024);
    t.after(async () => {
      await fixture?.close();
      await disk?.unmount();
      await rm(dataDir, { recursive: true, force: true });
    });
    if (!disk) return;
    fixture = await startTestPlatform({ dataDir });
    const account = await fixture.api<{ id: string }>('POST', '/accounts', { name: 'full-disk' });
    const upload = (name: string, bytes: number) =>
      fetch(`${fixture.apiUrl}/bundles?accountId=${account.body.id}&name=${name}&version=1.0.0`, {
        method: 'POST',
        headers: { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/octet-stream' },
        body: Buffer.alloc(bytes, name.length),
      });

    const tooBig = await upload('too-big', 2 * 1024 * 1024);
    assert.equal(tooBig.status, 503);
    const problem = (await tooBig.json()) as { code: string; detail: string };
    assert.equal(problem.code, 'STORE_UNAVAILABLE');
    assert.equal(problem.detail, 'cannot store the bundle: ENOSPC (no space left on the device)');
    assert.doesNotMatch(JSON.stringify(problem), new RegExp(dataDir), 'no path reaches the client');
    assert.deepEqual(await readdir(disk.path), [], 'the partial upload is removed');
    assert.equal((await fixture.api<{ total: number }>('GET', `/bundles?accountId=${account.body.id}`)).body.total, 0);

    const fits = await upload('fits', 100 * 1024);
    assert.equal(fits.status, 201, await fits.text());
  });
});
