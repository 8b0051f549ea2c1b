import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '../log/logger.ts';
import { provisionerDependencies } from '../platform/provisioner-deps.ts';
import { birthTopic } from '../protocol/topics.ts';
import { publishQos1 } from '../provisioner/aedes-transport.ts';
import { localPublishTransport } from '../provisioner/local-publish-transport.ts';
import { sendLatestMatchingJob } from '../provisioner/update-job-dispatch.ts';
import { startJobProgressHandler } from '../provisioner/update-job-progress.ts';
import type { Account } from '../store/types.ts';
import { skipUnlessInstalled } from './support/external-tools.ts';
import type { TestPlatform } from './support/platform-fixture.ts';
import { eventually } from './support/security-kit.ts';
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
 * docs/PROTOCOL.md §15, "Worked example: an update job": its blocks run as written after §12's,
 * in one bash process, with the operator's job (a bundle uploaded, POST /api/v1/update-jobs for
 * the device's category) made over the admin API between steps 2 and 3, as the document says.
 * What is checked is what the reader sees (the bundle downloaded and checked, the signature
 * verified) and what the operator sees (GET /api/v1/update-jobs/{id}/devices, the registry).
 */

interface JobSteps {
  /** Steps 1 and 2: who the device is; it subscribes in a persistent session and leaves. */
  readonly beforeJob: string;
  /** Steps 3 and 4: it is born, receives the job, checks it, reports DOWNLOADING and downloads. */
  readonly receiveAndDownload: string;
  /** Step 5: it reports INSTALLED. */
  readonly install: string;
}

async function jobExample(): Promise<JobSteps> {
  const [who, listen, receive, download, install] = shellBlocks(await protocolSpec(), /^### Worked example: an update job/m, 5);
  assert.ok(who !== undefined && listen !== undefined && receive !== undefined && download !== undefined && install !== undefined);
  return { beforeJob: `${who}\n${listen}`, receiveAndDownload: `${receive}\n${download}`, install };
}

/** Step 3 is born and waits for the job on one connection with mosquitto_rr (mosquitto-clients too). */
const tools = [...workedExampleTools, 'mosquitto_rr'];

/** What the device reports instead of step 5 when it cannot install the job (§15, after the example). */
const failure = `jq -n --argjson sentOn "$(date +%s000)" --arg job "$JOB_ID" \\
  '{sentOn: $sentOn, metrics: {"job.id": $job, state: "FAILED", "error.message": "no space left for the bundle"}}' > progress.json
mosquitto_pub $DEV -t "$NS/JOB-V1/EXEC/progress" -f progress.json
`;

const bundleName = 'org.example.heater';

/**
 * The broker side of JOB-V1 on the platform under test: the progress handler, and after each birth
 * of the device its latest matching job (what the device reconciler does after a birth). Where the
 * platform does the same already, the status compare-and-set makes the second send change nothing.
 */
async function jobsAfterBirth(fixture: TestPlatform, device: ProvisionedDevice, account: Account): Promise<{ close(): Promise<void> }> {
  const log = createLogger('silent');
  const deps = await provisionerDependencies(fixture.config, fixture.platform.store, fixture.platform.ca, log, {
    accountBrokerUrl: `mqtts://localhost:${fixture.platform.accountBroker.mqttsPort}`,
    httpBaseUrl: `http://127.0.0.1:${fixture.platform.http.port}`,
    sessions: fixture.platform.sessions,
  });
  const { aedes } = fixture.platform.accountBroker;
  const progress = await startJobProgressHandler(deps, localPublishTransport(aedes));
  const pending: Promise<void>[] = [];
  const onPublish = (packet: { topic: string }): void => {
    if (packet.topic !== birthTopic(account.name, device.clientId)) return;
    const bornAt = Date.now();
    pending.push(
      (async () => {
        const recorded = await eventually(
          () => fixture.platform.store.getDevice(account.id, device.clientId),
          (record) => record !== null && (record.lastBirthOn ?? 0) >= bornAt - 1000,
          'the birth recorded',
        );
        await sendLatestMatchingJob(deps, account, recorded!, (topic, payload) => publishQos1(aedes, topic, payload));
      })(),
    );
  };
  aedes.on('publish', onPublish);
  return {
    async close() {
      aedes.off('publish', onPublish);
      await Promise.all(pending);
      await progress.close();
    },
  };
}

interface MadeJob {
  readonly jobId: string;
  readonly content: Buffer;
  readonly sha256: string;
}

/** The operator's job between steps 2 and 3: the device in category lab, a bundle, a job for the category. */
function makeJob(fixture: TestPlatform, { accountId, clientId }: ProvisionedDevice, made: { job?: MadeJob }): () => Promise<void> {
  return async () => {
    assert.equal((await fixture.api('POST', '/categories', { accountId, name: 'lab' })).status, 201);
    const devices = await fixture.api<{ items: { id: string; clientId: string }[] }>('GET', `/devices?accountId=${accountId}`);
    const record = devices.body.items.find((item) => item.clientId === clientId);
    assert.ok(record, `${clientId} is in the registry`);
    assert.equal((await fixture.api('PATCH', `/devices/${record.id}`, { category: 'lab' })).status, 200);
    const content = randomBytes(3000);
    const uploaded = await fetch(`${fixture.apiUrl}/bundles?accountId=${accountId}&name=${bundleName}&version=2.0.0`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/octet-stream' },
      body: content,
    });
    assert.equal(uploaded.status, 201);
    const bundle = (await uploaded.json()) as { id: string; sha256: string };
    const job = await fixture.api<{ id: string }>('POST', '/update-jobs', { accountId, name: 'heater 2.0.0', category: 'lab', bundleIds: [bundle.id] });
    assert.equal(job.status, 201, JSON.stringify(job.body));
    made.job = { jobId: job.body.id, content, sha256: bundle.sha256 };
  };
}

async function accountOf(fixture: TestPlatform, accountId: string): Promise<Account> {
  const account = await fixture.platform.store.getAccount(accountId);
  assert.ok(account);
  return account;
}

/** The device's status in the job as the operator sees it, once it is `state`. */
async function shownAs(fixture: TestPlatform, jobId: string, clientId: string, state: string): Promise<{ state: string; error: string | null }> {
  const answer = await eventually(
    () => fixture.api<{ items: { clientId: string; state: string; error: string | null }[] }>('GET', `/update-jobs/${jobId}/devices`),
    (page) => page.body.items.some((item) => item.clientId === clientId && item.state === state),
    `${clientId} ${state}`,
    10_000,
  );
  return answer.body.items.find((item) => item.clientId === clientId)!;
}

/** What the reader sees in steps 3 and 4: the signing certificate and the signature verified, the bundle's sha256 checked. */
function assertReceivedAndDownloaded(output: string): void {
  assert.match(output, /job-signing\.pem: OK/, 'openssl verified the signing certificate against the root');
  assert.match(output, /Verified OK/, 'openssl verified the signature over the job');
  assert.match(output, new RegExp(`${bundleName.replace(/\./g, '\\.')}: sha256 OK`), 'the bundle was downloaded and checked');
}

describe('docs/PROTOCOL.md §15 worked example: an update job', () => {
  it('runs as written after §12: the operator makes a job between steps 2 and 3, the device downloads the bundle and reports INSTALLED', async (t) => {
    if (skipUnlessInstalled(t, tools, workedExampleInstall, 'PROVISIO_TEST_REQUIRE_MOSQUITTO')) return;
    const steps = await jobExample();
    await afterProvisioning(t, async (device) => {
      const { fixture, workDir, rootFile, accountId, clientId } = device;
      const broker = await jobsAfterBirth(fixture, device, await accountOf(fixture, accountId));
      const made: { job?: MadeJob } = {};
      try {
        await t.test('§15: the device gets the job after its birth, checks it, downloads the bundle and reports INSTALLED', async () => {
          const result = await runBash(
            steps.beforeJob,
            workDir,
            { ROOT: rootFile },
            { meanwhile: makeJob(fixture, device, made), after: `${steps.receiveAndDownload}\n${steps.install}` },
          );
          assert.equal(result.code, 0, `the §15 worked example failed:\n${result.output}`);
          assertReceivedAndDownloaded(result.output);
          const job = made.job!;
          assert.deepEqual(await readFile(join(workDir, `${bundleName}.bin`)), job.content, 'the bundle the reader downloaded');
          const document = JSON.parse(await readFile(join(workDir, 'job-body.bin'), 'utf8')) as { jobId: string };
          assert.equal(document.jobId, job.jobId);

          const shown = await shownAs(fixture, job.jobId, clientId, 'INSTALLED');
          assert.deepEqual(shown, { ...shown, state: 'INSTALLED', error: null });
          const record = await eventually(
            () => fixture.platform.store.getDevice(accountId, clientId),
            (value) => (value?.bundles.length ?? 0) > 0,
            'the bundle recorded on the device',
          );
          assert.deepEqual(record?.bundles, [{ name: bundleName, version: '2.0.0', sha256: job.sha256 }]);
        });
      } finally {
        await broker.close();
      }
    });
  });

  it('the device that cannot install the job reports FAILED, and the operator sees its reason', async (t) => {
    if (skipUnlessInstalled(t, tools, workedExampleInstall, 'PROVISIO_TEST_REQUIRE_MOSQUITTO')) return;
    const steps = await jobExample();
    await afterProvisioning(t, async (device) => {
      const { fixture, workDir, rootFile, accountId, clientId } = device;
      const broker = await jobsAfterBirth(fixture, device, await accountOf(fixture, accountId));
      const made: { job?: MadeJob } = {};
      try {
        await t.test('§15 with FAILED instead of step 5', async () => {
          const result = await runBash(
            steps.beforeJob,
            workDir,
            { ROOT: rootFile },
            { meanwhile: makeJob(fixture, device, made), after: `${steps.receiveAndDownload}\n${failure}` },
          );
          assert.equal(result.code, 0, `the §15 worked example failed:\n${result.output}`);
          assertReceivedAndDownloaded(result.output);
          const shown = await shownAs(fixture, made.job!.jobId, clientId, 'FAILED');
          assert.equal(shown.error, 'no space left for the bundle');
          assert.deepEqual((await fixture.platform.store.getDevice(accountId, clientId))?.bundles, [], 'nothing recorded as installed');
        });
      } finally {
        await broker.close();
      }
    });
  });
});
