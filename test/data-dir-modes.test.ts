import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runDevice } from '../agent-sim/device-agent.ts';
import { DeviceState } from '../agent-sim/device-state.ts';
import { defaultSettings } from '../agent-sim/settings.ts';
import { adminTokenFileName } from '../platform/admin-token-file.ts';
import { freePlatformPorts, startPlatformProcess, stopPlatformProcess, type PlatformPorts, type PlatformProcess } from './support/platform-process.ts';

/**
 * Issue 20 §3: every file of the data directory is created 0600 and every directory 0700 (the
 * SQLite database and its -wal and -shm files, bundles, the CA's keys, the secrets, the admin
 * token), checked on `npm start` (platform/main.ts as a process) after a whole provisioning
 * journey with a bundle; and the generated admin token goes to {dataDir}/admin-token, never to
 * the process's output, where the JSON log goes.
 */

/** Public certificates under ca/ are written by certs/ca-files.ts; they hold no secret (see the test). */

async function walk(root: string, directory = root): Promise<{ path: string; mode: number; directory: boolean }[]> {
  const found = [];
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    const mode = (await stat(path)).mode & 0o777;
    found.push({ path: relative(root, path), mode, directory: entry.isDirectory() });
    if (entry.isDirectory()) found.push(...(await walk(root, path)));
  }
  return found;
}

function modeProblems(entries: Awaited<ReturnType<typeof walk>>): string[] {
  return entries.flatMap((entry) => {
    const expected = entry.directory ? 0o700 : 0o600;
    if (entry.mode === expected) return [];
    return [`${entry.path}: ${entry.mode.toString(8)}, expected ${expected.toString(8)}`];
  });
}

describe('the data directory of a running platform', () => {
  let workDir: string;
  let dataDir: string;
  let ports: PlatformPorts;
  let platform: PlatformProcess;
  let token: string;
  const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${ports.http}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined && !Buffer.isBuffer(body) ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: Buffer.isBuffer(body) ? body : JSON.stringify(body) } : {}),
    });

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'provisio-modes-'));
    dataDir = join(workDir, 'data');
    ports = await freePlatformPorts();
    // No PROVISIO_ADMIN_TOKEN (empty = unset): the platform generates one. Log everything.
    platform = await startPlatformProcess({ dataDir, ports, adminToken: '', env: { PROVISIO_LOG_LEVEL: 'trace' } });
    token = (await readFile(join(dataDir, adminTokenFileName), 'utf8')).trim();
  });
  after(async () => {
    if (platform) await stopPlatformProcess(platform);
    await rm(workDir, { recursive: true, force: true });
  });

  it('Should write the generated admin token to a 0600 file and print only its path, never the token', async () => {
    assert.match(token, /^[A-Za-z0-9_-]{40,}$/);
    assert.equal((await stat(join(dataDir, adminTokenFileName))).mode & 0o777, 0o600);
    assert.ok(platform.output().includes(join(dataDir, adminTokenFileName)), 'the path is printed');
    assert.equal((await api('GET', '/accounts')).status, 200, 'the token in the file is the admin token');
  });

  it('Should leave every file at 0600 and every directory at 0700 after a provisioning journey with a bundle', async (t) => {
    const account = (await (await api('POST', '/accounts', { name: 'modes' })).json()) as { id: string };
    const bundle = await api('POST', `/bundles?accountId=${account.id}&name=app&version=1.0.0`, Buffer.from('bundle content'), {
      'content-type': 'application/octet-stream',
    });
    assert.equal(bundle.status, 201);
    const { id: bundleId } = (await bundle.json()) as { id: string };
    const created = await api('POST', '/provision-requests', { accountId: account.id, clientId: 'modes-device', bundleIds: [bundleId] });
    assert.equal(created.status, 201);
    const { credentials } = (await created.json()) as { credentials: { username: string; password: string } };

    const state = new DeviceState(join(workDir, 'device'));
    await state.initialise(
      {
        ...defaultSettings,
        'broker-url': `mqtts://localhost:${ports.mqtts}`,
        'client-id': 'modes-device',
        username: credentials.username,
        password: credentials.password,
        mac: 'modes-device',
        serial: 'SN-1',
        timeout: 10_000,
        'retry-interval': 200,
      },
      await readFile(join(dataDir, 'ca', 'root-ca.cert.pem'), 'utf8'),
    );
    const steps: string[] = [];
    const result = await runDevice(state, { onStep: (step) => steps.push(step) });
    assert.equal(result.status, 'online', result.status === 'failed' ? result.reason : '');
    if (result.status === 'online') await result.accountClient.endAsync();
    assert.ok(steps.includes('bundles'));

    const running = await walk(dataDir);
    t.diagnostic(running.map((entry) => `${entry.mode.toString(8)} ${entry.path}${entry.directory ? '/' : ''}`).join('\n'));
    const names = running.map((entry) => entry.path);
    for (const expected of ['provisio.db', 'provisio.db-wal', 'provisio.db-shm', 'admin-token', 'bundles', 'ca']) {
      assert.ok(names.includes(expected), `${expected} exists while the platform runs`);
    }
    assert.ok(
      names.some((name) => name.startsWith('bundles/') && !name.includes('.upload-')),
      'the bundle is stored',
    );
    assert.deepEqual(modeProblems(running), []);
    assert.equal((await stat(dataDir)).mode & 0o777, 0o700);
  });

  it('Should print nothing of the token on any stream, at log level trace', () => {
    const output = platform.output();
    assert.ok(output.length > 0);
    assert.ok(!output.includes(token), 'the admin token appears in the output');
  });

  it('Should keep the modes after a restart, and generate no second token', async () => {
    assert.equal(await stopPlatformProcess(platform), '0');
    platform = await startPlatformProcess({ dataDir, ports, adminToken: '', env: { PROVISIO_LOG_LEVEL: 'trace' } });
    assert.doesNotMatch(platform.output(), /admin API token generated/);
    assert.equal((await readFile(join(dataDir, adminTokenFileName), 'utf8')).trim(), token);
    assert.equal((await api('GET', '/accounts')).status, 200);
    assert.ok(!platform.output().includes(token));
    assert.deepEqual(modeProblems(await walk(dataDir)), []);
  });
});
