import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { startTestPlatform, type TestPlatform } from './platform-fixture.ts';

/**
 * Running the worked examples of docs/PROTOCOL.md as a reader would: its ```sh blocks, as they
 * are written, in bash, with the same command-line tools, against a real platform. Shared by
 * the tests of each example, so that every example starts from the same §12 provisioning run.
 */

/** The programs the worked examples call; a test skips loudly (or fails in CI) without them. */
export const workedExampleTools = ['mosquitto_pub', 'mosquitto_sub', 'curl', 'jq', 'openssl', 'sha256sum', 'base64', 'date'] as const;
export const workedExampleInstall = 'apt-get install -y mosquitto-clients curl jq openssl';

export async function protocolSpec(): Promise<string> {
  return readFile(new URL('../../docs/PROTOCOL.md', import.meta.url), 'utf8');
}

/**
 * The ```sh blocks of the part of the spec that starts at `heading`, up to the next heading of its
 * level or above, in order. Exactly `count` of them, so that a step added to or removed from the
 * document fails the test that runs it until the test is told.
 */
export function shellBlocks(spec: string, heading: RegExp, count: number): string[] {
  const start = spec.search(heading);
  assert.ok(start >= 0, `docs/PROTOCOL.md has a heading ${heading.source}`);
  const level = /^#+/.exec(spec.slice(start))?.[0].length ?? 2;
  const rest = spec.slice(start).split('\n').slice(1).join('\n');
  const end = rest.search(new RegExp(`^#{1,${level}} `, 'm'));
  const part = end < 0 ? rest : rest.slice(0, end);
  const blocks = [...part.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
  assert.equal(blocks.length, count, `${heading.source} has ${count} shell blocks (found ${blocks.length}): the test runs each of them`);
  return blocks;
}

/** §12, provisioning, as one script: every other worked example continues from the files it leaves. */
async function provisioningExample(): Promise<string> {
  return shellBlocks(await protocolSpec(), /^## 12\. Worked example/m, 7).join('\n');
}

interface BashRun {
  readonly code: number;
  /** stdout and stderr, interleaved as they came. */
  readonly output: string;
}

/** What a script prints (to stderr) where it waits for the test: it then reads one line from stdin. */
const pauseMarker = '--- waiting for the test ---';

/**
 * Runs `script` with `bash -c` under `set -euo pipefail` in `cwd`. With `meanwhile`, the script
 * is `script` then `after` in one bash process (their variables carry over, as in a reader's
 * shell), and between the two the test does `meanwhile` (an operator's action).
 */
export function runBash(
  script: string,
  cwd: string,
  env: Record<string, string>,
  pause?: { readonly meanwhile: () => Promise<void>; readonly after: string },
): Promise<BashRun> {
  const whole = pause ? `${script}\necho '${pauseMarker}' >&2\nread -r _\n${pause.after}` : script;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', `set -euo pipefail\n${whole}`], { cwd, env: { ...process.env, ...env } });
    let output = '';
    let paused = false;
    const collect = (chunk: Buffer): void => {
      output += chunk.toString();
      if (!pause || paused || !output.includes(pauseMarker)) return;
      paused = true;
      pause.meanwhile().then(
        () => child.stdin.end('\n'),
        (error: unknown) => {
          child.kill();
          reject(error as Error);
        },
      );
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

/** What §12's example left in its working directory that later examples and tests use. */
export interface ProvisionedDevice {
  readonly fixture: TestPlatform;
  readonly workDir: string;
  /** The platform's root CA, as $ROOT. */
  readonly rootFile: string;
  /** The account §12 created (request.json). */
  readonly accountId: string;
  /** The device's clientId (body.bin). */
  readonly clientId: string;
}

/** A fresh platform and working directory; runs §12's blocks there, checks what a reader sees, then `then`. */
export async function afterProvisioning(t: TestContext, then: (device: ProvisionedDevice) => Promise<void>): Promise<void> {
  const provisioning = await provisioningExample();
  const fixture = await startTestPlatform();
  const workDir = await mkdtemp(join(tmpdir(), 'provisio-worked-example-'));
  const rootFile = join(workDir, 'root.pem');
  try {
    await writeFile(rootFile, fixture.rootPem);
    await t.test('§12: a device is provisioned', async () => {
      const result = await runBash(provisioning, workDir, {
        API: fixture.apiUrl,
        TOKEN: fixture.adminToken,
        HOST: 'localhost',
        PORT: String(fixture.platform.provisionBroker.mqttsPort),
        ROOT: rootFile,
      });
      assert.equal(result.code, 0, `the §12 worked example failed:\n${result.output}`);
      assert.match(result.output, /Verified OK/, 'openssl verified the signature');
      assert.match(result.output, /client\.pem: OK/, 'openssl verified the client certificate chain');
      const request = JSON.parse(await readFile(join(workDir, 'request.json'), 'utf8')) as { id: string };
      const stored = await fixture.platform.store.getProvisionRequest(request.id);
      assert.equal(stored?.jobStatus, 'COMPLETED');
    });
    const request = JSON.parse(await readFile(join(workDir, 'request.json'), 'utf8')) as { accountId: string };
    const body = JSON.parse(await readFile(join(workDir, 'body.bin'), 'utf8')) as { clientId: string };
    await then({ fixture, workDir, rootFile, accountId: request.accountId, clientId: body.clientId });
  } finally {
    await fixture.close();
    await rm(workDir, { recursive: true, force: true });
  }
}
