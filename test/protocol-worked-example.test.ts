import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnlessInstalled } from './support/external-tools.ts';
import { startTestPlatform } from './support/platform-fixture.ts';

/** The ```sh blocks of docs/PROTOCOL.md's worked example, in order. */
async function workedExampleScript(): Promise<string> {
  const spec = await readFile(new URL('../docs/PROTOCOL.md', import.meta.url), 'utf8');
  const section = spec.split(/^## 12\. Worked example/m)[1];
  assert.ok(section, 'docs/PROTOCOL.md has a section "12. Worked example"');
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]);
  assert.ok(blocks.length >= 5, 'the worked example has its shell blocks');
  return blocks.join('\n');
}

function runBash(script: string, cwd: string, env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', `set -euo pipefail\n${script}`], { cwd, env: { ...process.env, ...env } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

describe('docs/PROTOCOL.md worked example', () => {
  it('runs as written with mosquitto_pub, mosquitto_sub, curl, jq and openssl', async (t) => {
    const tools = ['mosquitto_pub', 'mosquitto_sub', 'curl', 'jq', 'openssl', 'sha256sum', 'base64'];
    if (skipUnlessInstalled(t, tools, 'apt-get install -y mosquitto-clients curl jq openssl', 'PROVISIO_TEST_REQUIRE_MOSQUITTO')) return;
    const script = await workedExampleScript();
    const fixture = await startTestPlatform();
    const workDir = await mkdtemp(join(tmpdir(), 'provisio-worked-example-'));
    try {
      const rootFile = join(workDir, 'root.pem');
      await writeFile(rootFile, fixture.rootPem);
      const result = await runBash(script, workDir, {
        API: fixture.apiUrl,
        TOKEN: fixture.adminToken,
        HOST: 'localhost',
        PORT: String(fixture.platform.provisionBroker.mqttsPort),
        ROOT: rootFile,
      });
      assert.equal(result.code, 0, `the worked example failed:\n${result.output}`);
      assert.match(result.output, /Verified OK/, 'openssl verified the signature');
      assert.match(result.output, /client\.pem: OK/, 'openssl verified the client certificate chain');
      const request = JSON.parse(await readFile(join(workDir, 'request.json'), 'utf8')) as { id: string };
      const stored = await fixture.platform.store.getProvisionRequest(request.id);
      assert.equal(stored?.jobStatus, 'COMPLETED');
    } finally {
      await fixture.close();
      await rm(workDir, { recursive: true, force: true });
    }
  });
});
