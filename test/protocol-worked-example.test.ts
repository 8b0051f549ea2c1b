import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnlessInstalled } from './support/external-tools.ts';
import { startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';

/** The ```sh blocks of the part of docs/PROTOCOL.md that starts at `heading`, up to the next heading of its level or above, in order. */
function shellBlocks(spec: string, heading: RegExp, minimum: number): string {
  const start = spec.search(heading);
  assert.ok(start >= 0, `docs/PROTOCOL.md has a heading ${heading.source}`);
  const level = /^#+/.exec(spec.slice(start))?.[0].length ?? 2;
  const rest = spec.slice(start).split('\n').slice(1).join('\n');
  const end = rest.search(new RegExp(`^#{1,${level}} `, 'm'));
  const part = end < 0 ? rest : rest.slice(0, end);
  const blocks = [...part.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]);
  assert.ok(blocks.length >= minimum, `${heading.source} has its ${minimum} shell blocks (found ${blocks.length})`);
  return blocks.join('\n');
}

interface WorkedExamples {
  /** §12: provisioning. */
  readonly provisioning: string;
  /** §13, "Worked example: renewing": continues §12's device. */
  readonly renewal: string;
}

async function workedExamples(): Promise<WorkedExamples> {
  const spec = await readFile(new URL('../docs/PROTOCOL.md', import.meta.url), 'utf8');
  return { provisioning: shellBlocks(spec, /^## 12\. Worked example/m, 7), renewal: shellBlocks(spec, /^### Worked example: renewing/m, 8) };
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

/** A certificate's serial as the store keeps it (lower-case hex; `openssl x509 -serial` prints it upper case). */
function serialOf(pem: string): string {
  return new X509Certificate(pem).serialNumber.toLowerCase();
}

const tools = ['mosquitto_pub', 'mosquitto_sub', 'curl', 'jq', 'openssl', 'sha256sum', 'base64', 'date'];
const install = 'apt-get install -y mosquitto-clients curl jq openssl';

/** A fresh platform and working directory; runs §12's blocks there, checks what a reader sees, then `then`. */
async function afterProvisioning(t: TestContext, then: (fixture: TestPlatform, workDir: string, rootFile: string) => Promise<void>): Promise<void> {
  const { provisioning } = await workedExamples();
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
    await then(fixture, workDir, rootFile);
  } finally {
    await fixture.close();
    await rm(workDir, { recursive: true, force: true });
  }
}

/** What a reader of §13's example sees, and what the platform recorded: one renewal of the old certificate, used, the old one revoked. */
async function assertRenewed(fixture: TestPlatform, workDir: string, output: string): Promise<void> {
  assert.match(output, /^true$/m, 'jq found the 200 reply to renew-1');
  assert.match(output, /Verified OK/, 'openssl verified the signature over the renewal result');
  assert.match(output, /new-client\.pem: OK/, 'openssl verified the new certificate against the root');
  assert.match(output, /new certificate accepted/, 'the account broker accepted the new certificate');
  assert.match(output, /old certificate refused/, 'mosquitto_sub failed with the old certificate');
  assert.match(output, /not authori[sz]ed/i, 'the account broker refused the old certificate (CONNACK 5)');

  const oldSerial = serialOf(await readFile(join(workDir, 'client.pem'), 'utf8'));
  const newSerial = serialOf(await readFile(join(workDir, 'new-client.pem'), 'utf8'));
  assert.notEqual(newSerial, oldSerial, 'a new serial');
  assert.match(output, new RegExp(`^old serial=${oldSerial}$`, 'im'), 'the reader sees the old serial');
  assert.match(output, new RegExp(`^new serial=${newSerial}$`, 'im'), 'the reader sees the new serial');
  const body = JSON.parse(await readFile(join(workDir, 'body.bin'), 'utf8')) as { clientId: string };
  const certificates = await fixture.platform.store.listClientCertificates(body.clientId);
  assert.deepEqual(
    certificates.map((certificate) => certificate.serial).sort(),
    [oldSerial, newSerial].sort(),
    'the provisioned certificate and one renewal: a repeat issues no second certificate',
  );
  const renewed = certificates.find((certificate) => certificate.serial === newSerial);
  const old = certificates.find((certificate) => certificate.serial === oldSerial);
  assert.equal(renewed?.status, 'VALID');
  assert.equal(renewed?.renewsSerial, oldSerial, 'the platform records the new certificate as the renewal of the old one');
  assert.equal(renewed?.renewalRequestId, 'renew-1');
  assert.notEqual(renewed?.renewalSettledOn ?? null, null, 'the CONNECT with the new certificate settled the renewal');
  assert.equal(old?.status, 'REVOKED', 'the old certificate is revoked');
  assert.match(old?.revocationReason ?? '', /^superseded/, 'revoked as superseded');
  const device = await fixture.platform.store.getDevice(old?.accountId ?? '', body.clientId);
  assert.equal(device?.certificateSerial, newSerial, 'the device record names the new certificate');
}

/** Step 4's request, exactly as the document sends it. */
const renewalPublish = 'mosquitto_pub $OLD -c -t "$NS/CERT-V1/EXEC/renew" -f renew.json\n';

describe('docs/PROTOCOL.md worked examples', () => {
  it('run as written with mosquitto_pub, mosquitto_sub, curl, jq and openssl: §12 provisioning, then §13 renewal', async (t) => {
    if (skipUnlessInstalled(t, tools, install, 'PROVISIO_TEST_REQUIRE_MOSQUITTO')) return;
    const { renewal } = await workedExamples();
    await afterProvisioning(t, async (fixture, workDir, rootFile) => {
      await t.test('§13: the same device renews its certificate, connects with the new one, and the old one is refused', async () => {
        // Only ROOT: the §13 example takes everything else from the files §12 left.
        const result = await runBash(renewal, workDir, { ROOT: rootFile });
        assert.equal(result.code, 0, `the §13 worked example failed:\n${result.output}`);
        await assertRenewed(fixture, workDir, result.output);
      });
    });
  });

  it('§13: when the reply to the renewal is lost, the example sends the same request again and gets the same certificate', async (t) => {
    if (skipUnlessInstalled(t, tools, install, 'PROVISIO_TEST_REQUIRE_MOSQUITTO')) return;
    const { renewal } = await workedExamples();
    assert.equal(renewal.split(renewalPublish).length, 3, 'step 4 and step 5 send the renewal request with the same command');
    // Step 4's mosquitto_pub stays connected for 2 s (-l reads the message from stdin): the reply
    // comes while it holds the device's session, goes to it and is lost, as step 5 warns.
    const lostReply = renewal.replace(renewalPublish, `(tr -d '\\n' < renew.json; echo; sleep 2) | mosquitto_pub $OLD -c -t "$NS/CERT-V1/EXEC/renew" -l\n`);
    await afterProvisioning(t, async (fixture, workDir, rootFile) => {
      await t.test('§13 with the first reply lost', async () => {
        const result = await runBash(lostReply, workDir, { ROOT: rootFile });
        assert.equal(result.code, 0, `the §13 worked example failed:\n${result.output}`);
        assert.match(result.output, /Timed out/, 'the first mosquitto_sub of step 5 got no reply');
        await assertRenewed(fixture, workDir, result.output);
      });
    });
  });
});
