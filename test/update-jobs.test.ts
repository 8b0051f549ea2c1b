import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { runDevice } from '../agent-sim/device-agent.ts';
import type { DeviceState } from '../agent-sim/device-state.ts';
import { failJobsReason } from '../agent-sim/job-exchange.ts';
import { recordEarlyMessages, stayOnline, type EarlyMessages, type OnlineEvent, type OnlineReport } from '../agent-sim/online-session.ts';
import { createLogger } from '../log/logger.ts';
import { provisionerDependencies } from '../platform/provisioner-deps.ts';
import { configurationHash } from '../protocol/configuration-hash.ts';
import {
  decodeJobCommand,
  decodeJobDocument,
  encodeJobProgress,
  jobCommandTopic,
  jobProgressSchema,
  jobProgressTopic,
  type JobDocument,
} from '../protocol/jobs.ts';
import { encodeKuraPayload } from '../protocol/kura-payload.ts';
import { publishQos1 } from '../provisioner/aedes-transport.ts';
import { localPublishTransport } from '../provisioner/local-publish-transport.ts';
import { sendLatestMatchingJob, type JobDispatchDependencies } from '../provisioner/update-job-dispatch.ts';
import { startJobProgressHandler } from '../provisioner/update-job-progress.ts';
import { jobDeviceStates, updateJobStates, type Account, type JobDeviceState } from '../store/types.ts';
import { runAgentSimCli } from './support/agent-sim-cli.ts';
import { codeSpans, findTables } from './support/markdown-tables.ts';
import { createAccountAndRequest, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { eventually } from './support/security-kit.ts';
import { newSimulatedDevice } from './support/simulated-device.ts';

/**
 * Update jobs (issue 15 §4, docs/PROTOCOL.md "Update jobs (JOB-V1)") over real sockets: agent-sim
 * devices on the account broker (mutual TLS, mqtt.js) are sent the latest job that matches them,
 * download its bundles over HTTP, and report their progress; the API shows where each stands.
 *
 * The broker side's hooks are also called here directly, as the platform calls them:
 * sendLatestMatchingJob for each device a job names (what a fleet-update notice and a birth lead
 * to), and the progress handler on the account broker's messages. Where the platform does the same
 * (it sends jobs at creation, resumption and birth), the status compare-and-set makes the second
 * call change nothing; so each case holds whether the job reached the device through the platform's
 * own wiring or through the direct call. Devices that must not get a job before a moment of the
 * test are offline until then.
 */
const account = 'jobs';

interface LiveDevice {
  readonly clientId: string;
  readonly state: DeviceState;
  readonly events: { event: OnlineEvent; detail?: string }[];
  /** Ends its stay online (DISCONNECT). */
  leave(): Promise<OnlineReport>;
}

/** The job commands the account broker carried, as a device receives them (decoded; the signature is agent-sim's to check). */
class JobWire {
  readonly commands: { clientId: string; document: JobDocument; payload: Buffer }[] = [];

  constructor(fixture: TestPlatform) {
    fixture.platform.accountBroker.aedes.on('publish', (packet) => {
      const match = /^\$EDC\/[^/]+\/([^/]+)\/JOB-V1\/PUT\/job$/.exec(packet.topic);
      if (!match) return;
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      this.commands.push({ clientId: match[1]!, document: decodeJobDocument(decodeJobCommand(payload).body), payload });
    });
  }

  to(clientId: string, jobId?: string): JobDocument[] {
    return this.commands
      .filter((command) => command.clientId === clientId && (jobId === undefined || command.document.jobId === jobId))
      .map((command) => command.document);
  }
}

describe('update jobs over real sockets (JOB-V1)', () => {
  let fixture: TestPlatform;
  let accountRecord: Account;
  let deps: JobDispatchDependencies;
  let wire: JobWire;
  let closeProgress: () => Promise<void>;
  const devices = new Map<string, LiveDevice>();
  const rawClients: MqttClient[] = [];

  async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const answer = await fixture.api<T>(method, path, body);
    return answer;
  }

  async function uploadBundle(name: string, version: string, content: Buffer): Promise<{ id: string; sha256: string }> {
    const response = await fetch(`${fixture.apiUrl}/bundles?accountId=${accountRecord.id}&name=${name}&version=${version}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/octet-stream' },
      body: content,
    });
    assert.equal(response.status, 201);
    return (await response.json()) as { id: string; sha256: string };
  }

  /** What a fleet-update notice or a birth leads to on the broker side: the device is sent its latest matching job, if it lacks it. */
  async function dispatch(clientId: string): Promise<void> {
    const device = await fixture.platform.store.getDevice(accountRecord.id, clientId);
    assert.ok(device, `${clientId} has a device record`);
    await sendLatestMatchingJob(deps, accountRecord, device, (topic, payload) => publishQos1(fixture.platform.accountBroker.aedes, topic, payload));
  }

  async function createJob(body: Record<string, unknown>): Promise<{ id: string }> {
    const created = await api<{ id: string }>('POST', '/update-jobs', { accountId: accountRecord.id, name: 'job', ...body });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body;
  }

  const statusOf = async (jobId: string, clientId: string): Promise<JobDeviceState | undefined> =>
    (await fixture.platform.store.getJobDeviceStatus(jobId, clientId))?.state;

  async function settled(jobId: string, clientId: string, state: JobDeviceState): Promise<void> {
    await eventually(
      () => statusOf(jobId, clientId),
      (value) => value === state,
      `${clientId} ${state} in ${jobId}`,
      15_000,
    );
  }

  /** Waits until the birth handler recorded the device online after its latest CONNECT. */
  async function online(clientId: string, since: number): Promise<void> {
    await eventually(
      () => fixture.platform.store.getDevice(accountRecord.id, clientId),
      (device) => device !== null && device.online && (device.lastBirthOn ?? 0) >= since,
      `${clientId} online`,
    );
  }

  /** An agent-sim device of `category`, provisioned and staying online (renewing nothing within the test: its certificate lasts a year). */
  async function liveDevice(clientId: string, category: string, options: { failJobs?: boolean } = {}): Promise<LiveDevice> {
    const request = await createAccountAndRequest(fixture, clientId, { account, extra: { category } });
    const state = await newSimulatedDevice(fixture, request);
    return goOnline(clientId, state, category, options);
  }

  /** A device of `category` provisioned before any job exists, then offline (recorded so) until the test brings it online. */
  async function offlineDevice(clientId: string, category: string): Promise<DeviceState> {
    const request = await createAccountAndRequest(fixture, clientId, { account, extra: { category } });
    const state = await newSimulatedDevice(fixture, request);
    const since = Date.now();
    const first = await runDevice(state);
    assert.equal(first.status, 'online', first.status === 'failed' ? first.reason : first.status);
    if (first.status === 'online') await first.accountClient.endAsync();
    await fixture.platform.store.upsertDevice(accountRecord.id, clientId, { category });
    await eventually(
      () => fixture.platform.store.getDevice(accountRecord.id, clientId),
      (device) => device !== null && !device.online && (device.lastSeenOn ?? 0) >= since,
      `${clientId} offline`,
    );
    return state;
  }
  const offline = new Map<string, DeviceState>();

  async function goOnline(clientId: string, state: DeviceState, category: string, options: { failJobs?: boolean } = {}): Promise<LiveDevice> {
    const since = Date.now();
    let early: EarlyMessages | undefined;
    const result = await runDevice(state, { onAccountConnected: (client) => void (early = recordEarlyMessages(client)) });
    assert.equal(result.status, 'online', result.status === 'failed' ? result.reason : result.status);
    if (result.status !== 'online') throw new Error('not online');
    await fixture.platform.store.upsertDevice(accountRecord.id, clientId, { category });
    await online(clientId, since);
    const events: LiveDevice['events'] = [];
    const stop = new AbortController();
    const staying = stayOnline(state, result.accountClient, {
      signal: stop.signal,
      ...(early ? { early } : {}),
      ...(options.failJobs ? { failJobs: true } : {}),
      onEvent: (event, detail) => void events.push({ event, ...(detail !== undefined ? { detail } : {}) }),
    });
    const device: LiveDevice = {
      clientId,
      state,
      events,
      leave: async () => {
        stop.abort();
        return staying;
      },
    };
    devices.set(clientId, device);
    return device;
  }

  /** The device record lists these bundles (name@version), sorted by name: what INSTALLED records right after the status. */
  async function bundlesRecorded(clientId: string, expected: string[]): Promise<void> {
    await eventually(
      async () => (await fixture.platform.store.getDevice(accountRecord.id, clientId))?.bundles.map((bundle) => `${bundle.name}@${bundle.version}`),
      (bundles) => JSON.stringify(bundles) === JSON.stringify(expected),
      `${clientId}'s bundles`,
      10_000,
    );
  }

  const jobEvents = (clientId: string): string[] =>
    (devices.get(clientId)?.events ?? []).filter(({ event }) => event.startsWith('job')).map(({ event, detail }) => `${event} ${detail ?? ''}`.trim());

  async function auditOf(type: string, jobId: string): Promise<{ clientId: string | null; detail: Record<string, unknown> }[]> {
    const events = await fixture.platform.store.listAudit({ type, limit: 1000 });
    return events.items.filter((event) => event.detail['jobId'] === jobId);
  }

  before(async () => {
    fixture = await startTestPlatform();
    const log = createLogger('silent');
    deps = await provisionerDependencies(fixture.config, fixture.platform.store, fixture.platform.ca, log, {
      accountBrokerUrl: `mqtts://localhost:${fixture.platform.accountBroker.mqttsPort}`,
      httpBaseUrl: `http://127.0.0.1:${fixture.platform.http.port}`,
      sessions: fixture.platform.sessions,
    });
    const progress = await startJobProgressHandler(deps, localPublishTransport(fixture.platform.accountBroker.aedes));
    closeProgress = () => progress.close();
    wire = new JobWire(fixture);
    await createAccountAndRequest(fixture, 'jobs-seed', { account });
    const accounts = await api<{ items: Account[] }>('GET', '/accounts?limit=1000');
    accountRecord = accounts.body.items.find((item) => item.name === account)!;
    for (const name of ['heaters', 'lamps']) assert.equal((await api('POST', '/categories', { accountId: accountRecord.id, name })).status, 201);
    for (const [clientId, category] of [
      ['heater-late', 'heaters'],
      ['heater-off', 'heaters'],
      ['lamp-off', 'lamps'],
    ] as const) {
      offline.set(clientId, await offlineDevice(clientId, category));
    }
    assert.equal((await api('POST', '/categories', { accountId: accountRecord.id, name: 'raw' })).status, 201);
    await liveDevice('heater-1', 'heaters');
    await liveDevice('heater-2', 'heaters');
    await liveDevice('lamp-1', 'lamps');
  });
  after(async () => {
    for (const device of devices.values()) await device.leave();
    await Promise.all(rawClients.map((client) => client.endAsync(true)));
    await closeProgress?.();
    await fixture?.close();
  });

  let heaterJob: { id: string };
  let heaterBundle: { id: string; sha256: string };
  const heaterContent = randomBytes(4096);

  it("Should send a job for one category to its online devices only, which download the bundle and report INSTALLED; another category's device gets nothing", async () => {
    heaterBundle = await uploadBundle('org.example.heater', '2.0.0', heaterContent);
    heaterJob = await createJob({ name: 'heater 2.0.0', category: 'heaters', bundleIds: [heaterBundle.id] });
    for (const clientId of ['heater-1', 'heater-2', 'lamp-1']) await dispatch(clientId);
    await settled(heaterJob.id, 'heater-1', 'INSTALLED');
    await settled(heaterJob.id, 'heater-2', 'INSTALLED');
    assert.equal(await statusOf(heaterJob.id, 'lamp-1'), undefined, 'the lamp is not part of the job');
    assert.deepEqual(wire.to('lamp-1'), [], 'the lamp was sent nothing');
    assert.deepEqual(jobEvents('lamp-1'), []);

    const [sent] = wire.to('heater-1', heaterJob.id);
    assert.ok(sent);
    assert.deepEqual(
      sent.bundles.map(({ name, version, size, sha256 }) => ({ name, version, size, sha256 })),
      [{ name: 'org.example.heater', version: '2.0.0', size: 4096, sha256: heaterBundle.sha256 }],
    );
    assert.match(sent.bundles[0]!.url, /\/api\/v1\/bundles\/.+\/download\?token=/, 'a signed download link');
    assert.equal(sent.configuration, undefined);
    for (const clientId of ['heater-1', 'heater-2']) {
      const device = devices.get(clientId)!;
      assert.deepEqual(await device.state.readBundle('org.example.heater', '2.0.0'), heaterContent, `${clientId} stored the bundle`);
      // Recorded right after the status.
      await bundlesRecorded(clientId, ['org.example.heater@2.0.0']);
      const record = await fixture.platform.store.getDevice(accountRecord.id, clientId);
      assert.deepEqual(
        record?.bundles,
        [{ name: 'org.example.heater', version: '2.0.0', sha256: heaterBundle.sha256 }],
        `${clientId}'s record lists the bundle`,
      );
      assert.deepEqual(jobEvents(clientId), [`job ${heaterJob.id}`, `job-installed ${heaterJob.id}`]);
    }
    const detail = await api<{ counts: Record<string, number>; matchingDevices: number }>('GET', `/update-jobs/${heaterJob.id}`);
    assert.deepEqual(detail.body.counts, { PENDING: 0, SENT: 0, DOWNLOADING: 0, INSTALLED: 2, FAILED: 0 }, 'the offline heaters are not listed yet');
    assert.equal(detail.body.matchingDevices, 4, 'the four heaters, online or not');
    assert.equal((await auditOf('job.device.installed', heaterJob.id)).length, 2);
  });

  it('Should send a device that connects later the latest job that matches it, once', async () => {
    // Provisioned before the job, offline while it was made and sent.
    const state = offline.get('heater-late')!;
    assert.equal(await statusOf(heaterJob.id, 'heater-late'), undefined);
    assert.deepEqual(wire.to('heater-late'), []);

    await goOnline('heater-late', state, 'heaters');
    await dispatch('heater-late'); // after its birth
    await settled(heaterJob.id, 'heater-late', 'INSTALLED');
    assert.deepEqual(await state.readBundle('org.example.heater', '2.0.0'), heaterContent);
    await dispatch('heater-late'); // a second birth or notice
    await dispatch('heater-1');
    assert.equal(wire.to('heater-late', heaterJob.id).length, 1, 'sent once');
    assert.equal(wire.to('heater-1', heaterJob.id).length, 1, 'an INSTALLED device is not sent the job again');
  });

  it('Should show a device that reports FAILED with its reason, per device', async () => {
    await liveDevice('heater-bad', 'heaters', { failJobs: true });
    await dispatch('heater-bad');
    await settled(heaterJob.id, 'heater-bad', 'FAILED');
    const failed = await api<{ items: { clientId: string; state: string; error: string | null }[] }>(
      'GET',
      `/update-jobs/${heaterJob.id}/devices?state=FAILED`,
    );
    assert.deepEqual(
      failed.body.items.map(({ clientId, state, error }) => ({ clientId, state, error })),
      [{ clientId: 'heater-bad', state: 'FAILED', error: failJobsReason }],
    );
    const all = await api<{ items: { clientId: string; state: string }[] }>('GET', `/update-jobs/${heaterJob.id}/devices`);
    assert.deepEqual(
      all.body.items.map(({ clientId, state }) => `${clientId} ${state}`),
      ['heater-1 INSTALLED', 'heater-2 INSTALLED', 'heater-bad FAILED', 'heater-late INSTALLED'],
    );
    const record = await fixture.platform.store.getDevice(accountRecord.id, 'heater-bad');
    assert.deepEqual(record?.bundles, [], 'a failed job installs nothing on the record');
    assert.deepEqual(await auditOf('job.device.failed', heaterJob.id).then((events) => events.map((event) => [event.clientId, event.detail['error']])), [
      ['heater-bad', failJobsReason],
    ]);
    assert.equal((await api<{ state: string }>('GET', `/update-jobs/${heaterJob.id}`)).body.state, 'RUNNING', 'no threshold: the job goes on');
  });

  it('Should run agent-sim with --fail-jobs from the command line: the job FAILED with its reason', async () => {
    const usage = await runAgentSimCli(['device', '--state-dir', '/nonexistent', '--fail-jobs']);
    assert.equal(usage.code, 2, 'a device that leaves after its birth gets no job: --fail-jobs needs --stay-online');
    assert.match(usage.stderr, /--fail-jobs needs --stay-online/);

    const request = await createAccountAndRequest(fixture, 'heater-cli', { account, extra: { category: 'heaters' } });
    const dir = await mkdtemp(join(tmpdir(), 'provisio-job-cli-'));
    try {
      await writeFile(join(dir, 'root.pem'), fixture.rootPem);
      const since = Date.now();
      const run = runAgentSimCli([
        'device',
        ...['--state-dir', join(dir, 'state'), '--root-ca', join(dir, 'root.pem')],
        ...['--broker-url', `mqtts://localhost:${fixture.platform.provisionBroker.mqttsPort}`],
        ...['--client-id', 'heater-cli', '--username', request.username, '--password', request.password, '--timeout', '5000'],
        ...['--stay-online', '8', '--fail-jobs'],
      ]);
      await online('heater-cli', since);
      await fixture.platform.store.upsertDevice(accountRecord.id, 'heater-cli', { category: 'heaters' });
      await dispatch('heater-cli');
      await settled(heaterJob.id, 'heater-cli', 'FAILED');
      assert.equal((await fixture.platform.store.getJobDeviceStatus(heaterJob.id, 'heater-cli'))?.error, failJobsReason);
      const { code, stdout, stderr } = await run;
      assert.equal(code, 0, `${stdout}\n${stderr}`);
      assert.match(stdout, new RegExp(`job-failed: ${heaterJob.id}: refused by --fail-jobs`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('Should report FAILED when a downloaded bundle does not match its sha256, and install nothing', async () => {
    const content = randomBytes(2048);
    const bundle = await uploadBundle('org.example.lamp', '1.0.0', content);
    // The stored content changes under the platform (a disk fault): same size, other bytes.
    await writeFile(join(fixture.config.dataDir, 'bundles', bundle.sha256), randomBytes(2048));
    const job = await createJob({ name: 'broken lamp bundle', category: 'lamps', bundleIds: [bundle.id] });
    await dispatch('lamp-1');
    await settled(job.id, 'lamp-1', 'FAILED');
    const status = await fixture.platform.store.getJobDeviceStatus(job.id, 'lamp-1');
    assert.equal(status?.error, 'bundle org.example.lamp: sha256 does not match the signed job');
    await assert.rejects(devices.get('lamp-1')!.state.readBundle('org.example.lamp', '1.0.0'), /ENOENT/);
    await writeFile(join(fixture.config.dataDir, 'bundles', bundle.sha256), content);
  });

  it('Should stop a job once its failure threshold is reached, and send it to no further device', async () => {
    const bundle = await uploadBundle('org.example.canary', '1.0.0', randomBytes(512));
    // heater-off is offline: it connects once the job has stopped.
    const job = await createJob({ name: 'canary', category: 'heaters', clientIds: ['heater-bad', 'heater-off'], bundleIds: [bundle.id], failureThreshold: 1 });
    await dispatch('heater-bad');
    await eventually(
      () => api<{ state: string }>('GET', `/update-jobs/${job.id}`),
      (answer) => answer.body.state === 'STOPPED',
      'the job stopped',
    );
    const stopped = await auditOf('job.stopped', job.id);
    assert.equal(stopped.length, 1);
    assert.deepEqual(stopped[0]!.detail, { jobId: job.id, failed: 1, failureThreshold: 1, from: 'RUNNING' });
    await goOnline('heater-off', offline.get('heater-off')!, 'heaters');
    await dispatch('heater-off');
    // Its latest matching RUNNING job is the heater job: it gets that one, and never the stopped one.
    await settled(heaterJob.id, 'heater-off', 'INSTALLED');
    assert.equal(await statusOf(job.id, 'heater-off'), undefined, 'a stopped job is sent to no one');
    assert.deepEqual(wire.to('heater-off', job.id), []);
    const resumed = await api<{ code: string }>('POST', `/update-jobs/${job.id}/resume`);
    assert.equal(resumed.status, 409);
    assert.equal(resumed.body.code, 'JOB_WRONG_STATE');
  });

  it('Should send a paused job to no one until it is resumed, and a cancelled one never again', async () => {
    // Made while lamp-off is offline, paused or cancelled before it connects.
    const bundle = async (name: string) => (await uploadBundle(name, '1.0.0', randomBytes(300))).id;
    const cancelled = await createJob({ name: 'cancelled', category: 'lamps', clientIds: ['lamp-off'], bundleIds: [await bundle('org.example.switch')] });
    assert.equal((await api('POST', `/update-jobs/${cancelled.id}/cancel`)).status, 200);
    const paused = await createJob({ name: 'paused', category: 'lamps', clientIds: ['lamp-off'], bundleIds: [await bundle('org.example.dimmer')] });
    assert.equal((await api('POST', `/update-jobs/${paused.id}/pause`)).status, 200);
    await goOnline('lamp-off', offline.get('lamp-off')!, 'lamps');
    await dispatch('lamp-off'); // after its birth
    assert.equal(await statusOf(paused.id, 'lamp-off'), undefined, 'paused: not sent');
    assert.equal(await statusOf(cancelled.id, 'lamp-off'), undefined, 'cancelled: not sent');

    assert.equal((await api('POST', `/update-jobs/${paused.id}/resume`)).status, 200);
    await dispatch('lamp-off'); // what the resumption tells the online devices
    await settled(paused.id, 'lamp-off', 'INSTALLED');
    await dispatch('lamp-off');
    assert.equal(await statusOf(cancelled.id, 'lamp-off'), undefined, 'cancelled: never sent');
    assert.deepEqual(wire.to('lamp-off', cancelled.id), []);
    assert.equal(wire.to('lamp-off', paused.id).length, 1);
  });

  it('Should not send a bundle the device already has (same name and sha256), and mark a job with nothing left INSTALLED at once', async () => {
    const extra = await uploadBundle('org.example.thermostat', '1.0.0', randomBytes(1000));
    const both = await createJob({ name: 'heater and thermostat', category: 'heaters', clientIds: ['heater-1'], bundleIds: [heaterBundle.id, extra.id] });
    await dispatch('heater-1');
    await settled(both.id, 'heater-1', 'INSTALLED');
    const [sent] = wire.to('heater-1', both.id);
    assert.deepEqual(
      sent?.bundles.map((bundle) => bundle.name),
      ['org.example.thermostat'],
      'the heater bundle it has is left out',
    );
    await bundlesRecorded('heater-1', ['org.example.heater@2.0.0', 'org.example.thermostat@1.0.0']);

    const nothingNew = await createJob({ name: 'heater again', category: 'heaters', clientIds: ['heater-1'], bundleIds: [heaterBundle.id] });
    await dispatch('heater-1');
    assert.equal(await statusOf(nothingNew.id, 'heater-1'), 'INSTALLED');
    assert.deepEqual(wire.to('heater-1', nothingNew.id), [], 'nothing was sent');
    assert.deepEqual((await auditOf('job.device.installed', nothingNew.id))[0]?.detail, { jobId: nothingNew.id, alreadyThere: true });
  });

  it('Should send a configuration version with the job, pin it on the device, and record it applied on INSTALLED', async () => {
    const created = await api<{ id: string }>('POST', '/configurations', {
      accountId: accountRecord.id,
      name: 'lamp settings',
      content: { brightness: 80, broker: '${brokerUrl}' },
    });
    const job = await createJob({ name: 'lamp settings', category: 'lamps', configurationId: created.body.id });
    await dispatch('lamp-1');
    await settled(job.id, 'lamp-1', 'INSTALLED');
    const [sent] = wire.to('lamp-1', job.id);
    assert.ok(sent?.configuration);
    assert.equal(sent.configuration.configurationId, created.body.id);
    assert.equal(sent.configuration.version, 1);
    assert.deepEqual(JSON.parse(sent.configuration.content), { brightness: 80, broker: `mqtts://localhost:${fixture.platform.accountBroker.mqttsPort}` });
    assert.equal(sent.configuration.sha256, configurationHash(sent.configuration.content));
    const stored = await readFile(join(devices.get('lamp-1')!.state.directory, 'configuration.json'), 'utf8');
    assert.equal(stored, sent.configuration.content, 'the device applied it byte for byte');
    const record = await eventually(
      () => fixture.platform.store.getDevice(accountRecord.id, 'lamp-1'),
      (device) => device?.configurationState === 'APPLIED',
      'the configuration recorded applied',
    );
    assert.equal(record?.configurationId, created.body.id);
    assert.equal(record?.configurationVersion, 1);
    assert.equal(record?.expectedConfigurationHash, sent.configuration.sha256);
    assert.equal(record?.reportedConfigurationHash, sent.configuration.sha256);
    assert.equal(record?.configurationState, 'APPLIED');
  });

  it('Should send and read exactly the metrics, body fields and states docs/PROTOCOL.md "Update jobs (JOB-V1)" lists', async () => {
    const markdown = await readFile(new URL('../docs/PROTOCOL.md', import.meta.url), 'utf8');
    const documented = (headerStart: string): string[] => {
      const tables = findTables(markdown, headerStart).filter((table) => table.section.includes('(JOB-V1)'));
      assert.equal(tables.length, 1, `one "${headerStart}" table in the JOB-V1 section`);
      return tables[0]!.rows.flatMap((row) => codeSpans(row[0]!)).sort();
    };
    // The job with a configuration: every body field there is.
    const command = wire.commands.find(({ document }) => document.configuration !== undefined);
    assert.ok(command, 'a job with a configuration was sent');
    const envelope = JSON.parse(command.payload.toString('utf8')) as { metrics: Record<string, unknown>; body: string };
    assert.deepEqual(Object.keys(envelope.metrics).sort(), documented('| Metric | Type | Meaning |'));
    assert.deepEqual(
      Object.keys(JSON.parse(Buffer.from(envelope.body, 'base64').toString('utf8')) as object).sort(),
      documented('| Body field | Type | Meaning |'),
    );
    assert.deepEqual(Object.keys(jobProgressSchema.properties.metrics.properties).sort(), documented('| Metric | Type | Required | Meaning |'));
    assert.deepEqual([...jobDeviceStates].sort(), documented('| Device status | Meaning |'));
    assert.deepEqual([...updateJobStates].sort(), documented('| Job state | Meaning |'));
  });

  it('Should take a repeated report as harmless (in JSON or KuraPayload), and refuse one with an unknown metric, without a reason for FAILED, or for a job not sent to the device', async () => {
    // In a category of its own: no job matches it before the test makes one.
    const request = await createAccountAndRequest(fixture, 'raw-1', { account, extra: { category: 'raw' } });
    const state = await newSimulatedDevice(fixture, request);
    const since = Date.now();
    const result = await runDevice(state);
    assert.equal(result.status, 'online');
    if (result.status !== 'online') return;
    const client = result.accountClient;
    rawClients.push(client);
    await fixture.platform.store.upsertDevice(accountRecord.id, 'raw-1', { category: 'raw' });
    await online('raw-1', since);
    const received: Buffer[] = [];
    client.on('message', (topic, payload) => {
      if (topic === jobCommandTopic(account, 'raw-1')) received.push(payload);
    });
    const publish = (payload: Buffer | string) => client.publishAsync(jobProgressTopic(account, 'raw-1'), payload, { qos: 1 });
    const rawBundle = async (name: string) => (await uploadBundle(name, '1.0.0', randomBytes(64))).id;

    // A job of its account, not sent to it: its report changes nothing.
    const other = await createJob({ name: 'not for raw-1', category: 'raw', clientIds: ['someone-else'], bundleIds: [await rawBundle('org.example.other')] });
    await publish(encodeJobProgress({ jobId: other.id, state: 'INSTALLED' }));
    const job = await createJob({ name: 'raw', category: 'raw', clientIds: ['raw-1'], bundleIds: [await rawBundle('org.example.raw')] });
    await dispatch('raw-1');
    await eventually(
      () => received.length,
      (count) => count === 1,
      'the job command reached the device',
    );
    assert.equal(await statusOf(job.id, 'raw-1'), 'SENT');

    const unknownMetric = JSON.stringify({ sentOn: Date.now(), metrics: { 'job.id': job.id, state: 'INSTALLED', progress: 100 } });
    const failedWithoutReason = JSON.stringify({ sentOn: Date.now(), metrics: { 'job.id': job.id, state: 'FAILED' } });
    await publish(unknownMetric);
    await publish(failedWithoutReason);
    await publish(encodeJobProgress({ jobId: job.id, state: 'DOWNLOADING' }));
    await settled(job.id, 'raw-1', 'DOWNLOADING');
    await publish(encodeJobProgress({ jobId: job.id, state: 'DOWNLOADING' }));
    await publish(encodeJobProgress({ jobId: job.id, state: 'INSTALLED' }));
    await settled(job.id, 'raw-1', 'INSTALLED');
    await publish(encodeJobProgress({ jobId: job.id, state: 'INSTALLED' }));
    await publish(encodeJobProgress({ jobId: job.id, state: 'FAILED', errorMessage: 'too late' }));
    // A marker after them: once it is recorded, the reports before it were handled (in order, per device).
    const marker = await createJob({ name: 'marker', category: 'raw', clientIds: ['raw-1'], bundleIds: [await rawBundle('org.example.marker')] });
    await dispatch('raw-1');
    await eventually(
      () => received.length,
      (count) => count === 2,
      'the marker job reached the device',
    );
    // In KuraPayload protobuf, as a Kura gateway would send it (PROTOCOL.md §4).
    await publish(encodeKuraPayload({ sentOn: Date.now(), metrics: { 'job.id': marker.id, state: 'INSTALLED' } }));
    await settled(marker.id, 'raw-1', 'INSTALLED');
    const status = await fixture.platform.store.getJobDeviceStatus(job.id, 'raw-1');
    assert.deepEqual([status?.state, status?.error], ['INSTALLED', null], 'the repeat and the late FAILED changed nothing');
    assert.equal((await auditOf('job.device.installed', job.id)).length, 1, 'recorded once');
    assert.equal(await statusOf(other.id, 'raw-1'), undefined, 'the report for a job not sent to it changed nothing');
    await bundlesRecorded('raw-1', ['org.example.marker@1.0.0', 'org.example.raw@1.0.0']);
  });
});
