import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, verify, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { skipUnlessInstalled } from './support/external-tools.ts';
import type { TestPlatform } from './support/platform-fixture.ts';
import {
  afterProvisioning,
  protocolSpec,
  runBash,
  shellBlocks,
  workedExampleInstall,
  workedExampleTools,
  type ProvisionedDevice,
} from './support/worked-example.ts';

/**
 * docs/PROTOCOL.md §14, "Worked example: a pushed configuration": its blocks run as written after
 * §12's, in one bash process, with the operator's edit (PATCH /api/v1/configurations/{id}) made
 * over the admin API between steps 2 and 3, as the document says. What is checked is what the
 * reader sees (the files the example writes, its checks passing) and what the operator sees in
 * the registry (GET /api/v1/devices).
 */

interface ConfigurationSteps {
  /** Steps 1 and 2: who the device is; it subscribes in a persistent session and leaves. */
  readonly beforeEdit: string;
  /** Step 3: it is born, receives the push and checks it as §7 says. */
  readonly receive: string;
  /** Step 4: it applies it, answers APPLIED and publishes a birth with the new hash. */
  readonly apply: string;
}

async function configurationExample(): Promise<ConfigurationSteps> {
  const [who, listen, receive, apply] = shellBlocks(await protocolSpec(), /^### Worked example: a pushed configuration/m, 4);
  assert.ok(who !== undefined && listen !== undefined && receive !== undefined && apply !== undefined);
  return { beforeEdit: `${who}\n${listen}`, receive, apply };
}

/** Step 3 is born and waits for the push on one connection with mosquitto_rr (mosquitto-clients too). */
const tools = [...workedExampleTools, 'mosquitto_rr'];

/** Step 4's answer, exactly as the document sends it: the REFUSED run sends its own result.json with it. */
const resultPublish = 'mosquitto_pub $DEV -t "$NS/CONF-V1/EXEC/result" -f result.json\n';

/** What the device answers instead of step 4 when it cannot apply the configuration (§14, after the example). */
const refusal = `jq -n --argjson sentOn "$(date +%s000)" --arg rid "$PUSH_ID" --arg hash "$HASH" \\
  '{sentOn: $sentOn, metrics: {"request.id": $rid, result: "REFUSED", "configuration.hash": $hash, "error.message": "cannot apply: test"}}' > result.json
${resultPublish}`;

const firstContent = { telemetry: { intervalSeconds: 60 }, site: 'Zürich lab' };
/** The operator's edit: non-ASCII on purpose, the hash is over UTF-8 bytes. */
const editedContent = { telemetry: { intervalSeconds: 15, topics: ['temperature', 'humidity'] }, site: 'Zürich lab', note: 'edited by the operator' };

interface RegistryDevice {
  readonly clientId: string;
  readonly id: string;
  readonly category: string | null;
  readonly configurationState: string | null;
  readonly configurationError: string | null;
  readonly expectedConfigurationHash: string | null;
  readonly reportedConfigurationHash: string | null;
}

/** The device as the operator sees it in the registry's list. */
async function registryDevice(fixture: TestPlatform, accountId: string, clientId: string): Promise<RegistryDevice> {
  const page = await fixture.api<{ items: RegistryDevice[] }>('GET', `/devices?accountId=${accountId}`);
  assert.equal(page.status, 200);
  const device = page.body.items.find((item) => item.clientId === clientId);
  assert.ok(device, `${clientId} is in the registry`);
  return device;
}

/** The registry's view of the device once it shows `state` (results are handled as they come, not within the PUBACK). */
async function registryDeviceIn(fixture: TestPlatform, accountId: string, clientId: string, state: string): Promise<RegistryDevice> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const device = await registryDevice(fixture, accountId, clientId);
    if (device.configurationState === state || Date.now() > deadline) return device;
    await sleep(100);
  }
}

/**
 * What §14 continues from: §12's device following a configuration record. §12 creates its request
 * itself, so the operator puts the device in a category whose configuration that is (the device
 * has not been born on the account broker yet: nothing is pushed now).
 */
async function followConfiguration({ fixture, accountId, clientId }: ProvisionedDevice): Promise<string> {
  const configuration = await fixture.api<{ id: string; version: number }>('POST', '/configurations', {
    accountId,
    name: 'lab-sensors',
    content: firstContent,
  });
  assert.equal(configuration.status, 201, JSON.stringify(configuration.body));
  const category = await fixture.api('POST', '/categories', { accountId, name: 'lab', configurationId: configuration.body.id });
  assert.equal(category.status, 201, JSON.stringify(category.body));
  const device = await registryDevice(fixture, accountId, clientId);
  const moved = await fixture.api<RegistryDevice>('PATCH', `/devices/${device.id}`, { category: 'lab' });
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  assert.equal(moved.body.category, 'lab');
  return configuration.body.id;
}

/** The operator's edit between steps 2 and 3: the configuration's next version. */
function editConfiguration(fixture: TestPlatform, configurationId: string): () => Promise<void> {
  return async () => {
    const edited = await fixture.api<{ version: number }>('PATCH', `/configurations/${configurationId}`, { version: 1, content: editedContent });
    assert.equal(edited.status, 200, JSON.stringify(edited.body));
    assert.equal(edited.body.version, 2);
  };
}

/** The push the example received, and its signed body checked again independently of openssl: signed by the platform's signing certificate, for this device and push. */
async function receivedPush(workDir: string, rootPem: string, clientId: string): Promise<{ content: string; sha256: string; version: number }> {
  const push = JSON.parse(await readFile(join(workDir, 'push.json'), 'utf8')) as { body: string; metrics: Record<string, string> };
  const body = await readFile(join(workDir, 'push-body.bin'));
  assert.deepEqual(body, Buffer.from(push.body, 'base64'), 'push-body.bin is the signed bytes');
  const document = JSON.parse(body.toString('utf8')) as {
    clientId: string;
    requestId: string;
    content: string;
    sha256: string;
    version: number;
    certificates: { signing: string; chain: string[] };
  };
  const signing = new X509Certificate(document.certificates.signing);
  const issuing = new X509Certificate(document.certificates.chain[0] ?? '');
  assert.ok(signing.verify(issuing.publicKey) && issuing.verify(new X509Certificate(rootPem).publicKey), 'the signing certificate chains to the root');
  assert.ok(verify('sha256', body, signing.publicKey, Buffer.from(push.metrics['signature'] ?? '', 'base64')), 'the signature is over the body');
  assert.equal(document.clientId, clientId);
  assert.equal(document.requestId, push.metrics['request.id']);
  assert.equal(document.content, JSON.stringify(editedContent), 'the push carries the edited version');
  assert.equal(document.version, 2);
  return document;
}

/** What openssl printed in step 3: the signing certificate chains to the root, and the signature over the body holds. */
function assertPushVerified(output: string): void {
  assert.match(output, /push-signing\.pem: OK/, 'openssl verified the signing certificate against the root');
  assert.match(output, /Verified OK/, 'openssl verified the signature over the push');
}

function sha256Of(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('docs/PROTOCOL.md §14 worked example: a pushed configuration', () => {
  it('runs as written after §12: the operator edits the configuration between steps 2 and 3, the device applies it, the registry shows it APPLIED', async (t) => {
    if (skipUnlessInstalled(t, tools, workedExampleInstall, 'PROVISIO_TEST_REQUIRE_MOSQUITTO')) return;
    const steps = await configurationExample();
    await afterProvisioning(t, async (device) => {
      const { fixture, workDir, rootFile, accountId, clientId } = device;
      const configurationId = await followConfiguration(device);
      await t.test('§14: the device gets the edited configuration, checks it, applies it and says so', async () => {
        const result = await runBash(
          steps.beforeEdit,
          workDir,
          { ROOT: rootFile },
          { meanwhile: editConfiguration(fixture, configurationId), after: `${steps.receive}\n${steps.apply}` },
        );
        assert.equal(result.code, 0, `the §14 worked example failed:\n${result.output}`);
        assertPushVerified(result.output);
        const push = await receivedPush(workDir, fixture.rootPem, clientId);

        const stored = await readFile(join(workDir, 'configuration.json'), 'utf8');
        assert.deepEqual(JSON.parse(stored), editedContent, 'configuration.json holds the edited content');
        assert.equal(stored, push.content, 'configuration.json holds the content byte for byte, as §14 says to store it');
        assert.equal(sha256Of(stored), push.sha256);

        const shown = await registryDeviceIn(fixture, accountId, clientId, 'APPLIED');
        assert.equal(shown.configurationState, 'APPLIED');
        assert.equal(shown.configurationError, null);
        assert.equal(shown.expectedConfigurationHash, sha256Of(JSON.stringify(editedContent)), 'the platform holds the edited version');
        assert.equal(shown.reportedConfigurationHash, shown.expectedConfigurationHash, 'the device reported the hash of what it now runs');
      });
    });
  });

  it('the device that cannot apply the edited configuration answers REFUSED, and the operator sees its reason', async (t) => {
    if (skipUnlessInstalled(t, tools, workedExampleInstall, 'PROVISIO_TEST_REQUIRE_MOSQUITTO')) return;
    const steps = await configurationExample();
    assert.ok(steps.apply.includes(resultPublish), 'step 4 answers with this command');
    await afterProvisioning(t, async (device) => {
      const { fixture, workDir, rootFile, accountId, clientId } = device;
      const configurationId = await followConfiguration(device);
      await t.test('§14 with REFUSED instead of step 4', async () => {
        const result = await runBash(
          steps.beforeEdit,
          workDir,
          { ROOT: rootFile },
          { meanwhile: editConfiguration(fixture, configurationId), after: `${steps.receive}\n${refusal}` },
        );
        assert.equal(result.code, 0, `the §14 worked example failed:\n${result.output}`);
        assertPushVerified(result.output);
        const push = await receivedPush(workDir, fixture.rootPem, clientId);

        const shown = await registryDeviceIn(fixture, accountId, clientId, 'REFUSED');
        assert.equal(shown.configurationState, 'REFUSED');
        assert.equal(shown.configurationError, 'cannot apply: test', "the device's reason, as it sent it");
        assert.equal(shown.expectedConfigurationHash, push.sha256, 'the refused configuration is still the one the platform holds');
        assert.notEqual(shown.reportedConfigurationHash, push.sha256, 'the device still runs what it ran before');
      });
    });
  });
});
