import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Aedes, Client } from 'aedes';
import { parse } from 'csv-parse/sync';
import { refuseConfigurationsReason } from '../agent-sim/configuration-exchange.ts';
import { parseCredentialsCsv, type DeviceCredentials } from '../agent-sim/credentials-source.ts';
import type { DeviceState } from '../agent-sim/device-state.ts';
import { runFleet, type FleetSummary } from '../agent-sim/fleet.ts';
import { failJobsReason } from '../agent-sim/job-exchange.ts';
import { startRedisOrSkip, type RedisServer } from '../dev-support/redis-server.ts';
import { configurationHash } from '../protocol/configuration-hash.ts';
import { jobApp } from '../protocol/jobs.ts';
import { configurationApp, parseDeviceTopic } from '../protocol/topics.ts';
import { connectOnceAndLeave, factoryFreshDevice, stayOnlineUntilLeft, type LiveAgent } from './support/live-agent.ts';
import { startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { eventually } from './support/security-kit.ts';

/**
 * Issue 15's "done when", end to end over real sockets on each store backend: 500 agent-sim
 * devices in two categories ('north', 'south'), created by the batch API and run from its
 * credentials CSV. A configuration edited for north reaches exactly north's online devices and is
 * acknowledged (one device refuses it, and the registry says why); the north devices offline then
 * get it at their next connection; a job with a bundle rolls out to north, one device failing it and
 * one connecting late; the registry lists, filters and exports them. (Online state after a broker
 * is killed is test/cluster-device-registry.test.ts; a KuraPayload birth, test/kura-payload.test.ts.)
 */
const fleetSize = 500;
const perCategory = fleetSize / 2;
/** North devices outside the fleet: one refusing configurations, one failing jobs, seven offline at the edit, one offline until after the job. */
const refuser = 'north-refuser';
const failer = 'north-failer';
const offAtEdit = Array.from({ length: 7 }, (_, i) => `north-off-${i + 1}`);
const late = 'north-late';
const singles = [refuser, failer, ...offAtEdit, late];
const northFleet = Array.from({ length: perCategory - singles.length }, (_, i) => `north-${String(i).padStart(3, '0')}`);
const southFleet = Array.from({ length: perCategory }, (_, i) => `south-${String(i).padStart(3, '0')}`);
const north = [...northFleet, ...singles];
/** Alternating sites within each category: 125 of each per category. */
const siteOf = (clientId: string): string => {
  const index = (clientId.startsWith('north') ? north : southFleet).indexOf(clientId);
  return `site-${(index % 2) + 1}`;
};
/** The single devices say a firmware (the fleet's devices say none), for the firmware filter. */
const singleFirmware = 'sim-2.0';

const northContent = { site: 'north', reportEverySeconds: 60 };
const northEdited = { site: 'north', reportEverySeconds: 15 };
const southContent = { site: 'south', reportEverySeconds: 60 };
const hashOf = (content: object): string => configurationHash(JSON.stringify(content));

interface Device {
  clientId: string;
  online: boolean;
  category: string | null;
  tags: string[];
  expectedConfigurationHash: string | null;
  reportedConfigurationHash: string | null;
  configurationState: string | null;
  configurationError: string | null;
  bundles: { name: string; version: string; sha256: string }[];
  lastBirthOn: string | null;
}

/** What the account broker carried from the platform to each device: CONF-V1 pushes and JOB-V1 commands, with when (ms since the epoch). */
class PlatformToDevice {
  private readonly sent: { clientId: string; kind: 'configuration' | 'job'; at: number }[] = [];

  constructor(fixture: TestPlatform, account: string) {
    fixture.platform.accountBroker.aedes.on('publish', (packet) => {
      const topic = parseDeviceTopic(packet.topic);
      if (topic?.account !== account) return;
      const rest = topic.rest.join('/');
      const kind = rest === `${configurationApp}/PUT/configuration` ? 'configuration' : rest === `${jobApp}/PUT/job` ? 'job' : null;
      if (kind) this.sent.push({ clientId: topic.clientId, kind, at: Date.now() });
    });
  }

  /** How many of `kind` each device got since `at`. */
  countsSince(kind: 'configuration' | 'job', at: number): Map<string, number> {
    const counts = new Map<string, number>();
    for (const message of this.sent) if (message.kind === kind && message.at >= at) counts.set(message.clientId, (counts.get(message.clientId) ?? 0) + 1);
    return counts;
  }
}

/** The account broker's connection of a device (aedes keeps its clients in `clients`, not in its published types). */
function connectedClient(aedes: Aedes, clientId: string): Client {
  const client = (aedes as unknown as { clients: Record<string, Client | undefined> }).clients[clientId];
  assert.ok(client && !client.closed, `${clientId} is connected`);
  return client;
}

const redis = await startRedisOrSkip();
after(async () => {
  await redis?.stop();
});
for (const backend of ['sqlite', 'redis'] as const) describeFleetAfterBirth(backend, backend === 'redis' ? redis : null);

function describeFleetAfterBirth(backend: 'sqlite' | 'redis', redis: RedisServer | null): void {
  describe(
    `a fleet of ${fleetSize} after its birth: categories, configuration push, update job, registry (${backend})`,
    {
      skip: backend === 'redis' && !redis ? 'redis-server is not installed' : false,
    },
    () => {
      let fixture: TestPlatform;
      let workDir: string;
      let accountId: string;
      let account: string;
      let northConfigurationId: string;
      let wire: PlatformToDevice;
      const stopFleet = new AbortController();
      // Each fleet device listens to it while it stays online: hundreds of listeners on purpose.
      setMaxListeners(fleetSize, stopFleet.signal);
      let fleetRun: Promise<FleetSummary> | undefined;
      const live = new Map<string, LiveAgent>();
      const credentials = new Map<string, DeviceCredentials>();
      let startedAt = 0;

      const platformUrls = () => ({ provisionBrokerUrl: `mqtts://localhost:${fixture.platform.provisionBroker.mqttsPort}`, rootPem: fixture.rootPem });
      const deviceRoot = () => join(workDir, 'singles');
      const total = async (query: string): Promise<number> =>
        (await fixture.api<{ total: number }>('GET', `/devices?accountId=${accountId}&limit=1${query ? `&${query}` : ''}`)).body.total;
      const devicesWhere = async (query: string): Promise<Device[]> => {
        const page = await fixture.api<{ items: Device[]; total: number }>('GET', `/devices?accountId=${accountId}&limit=1000&${query}`);
        assert.ok(page.body.total <= 1000);
        return page.body.items;
      };
      const byClientId = (devices: Device[]): Map<string, Device> => new Map(devices.map((device) => [device.clientId, device]));
      const goOnline = async (clientId: string, options: { failJobs?: boolean; refuseConfigurations?: boolean } = {}): Promise<LiveAgent> => {
        const state = await factoryFreshDeviceOrKept(clientId);
        const agent = await stayOnlineUntilLeft(clientId, state, options);
        live.set(clientId, agent);
        return agent;
      };
      /** The single devices' flash is made once; a device brought back online keeps what it had. */
      const kept = new Map<string, DeviceState>();
      async function factoryFreshDeviceOrKept(clientId: string): Promise<DeviceState> {
        const existing = kept.get(clientId);
        if (existing) return existing;
        const state = await factoryFreshDevice(deviceRoot(), credentials.get(clientId)!, platformUrls(), { model: 'agent-sim', firmware: singleFirmware });
        kept.set(clientId, state);
        return state;
      }

      before(async () => {
        startedAt = Date.now();
        workDir = await mkdtemp(join(tmpdir(), 'provisio-fleet-after-birth-'));
        fixture = await startTestPlatform({
          logLevel: 'warn',
          // Every simulated device connects from 127.0.0.1: the default of 100 open connections per
          // address (meant for a site behind one NAT) would close all but the first 100 of the fleet.
          mqttConnectionsPerAddress: 10_000,
          ...(redis ? { storeBackend: 'redis', redisUrl: redis.url, redisKeyPrefix: `fleet-after-birth:${randomUUID()}:` } : {}),
        });
      });
      after(async () => {
        stopFleet.abort();
        await Promise.all([...live.values()].map((agent) => agent.leave()));
        await fleetRun;
        await fixture?.close();
        await rm(workDir, { recursive: true, force: true });
      });

      it(`Should create two categories with a configuration each and ${fleetSize} requests in them through the batch API (credentials CSV)`, async () => {
        account = `fleet-${backend}`;
        const created = await fixture.api<{ id: string }>('POST', '/accounts', { name: account });
        assert.equal(created.status, 201);
        accountId = created.body.id;
        wire = new PlatformToDevice(fixture, account);
        for (const [name, content] of [
          ['north', northContent],
          ['south', southContent],
        ] as const) {
          const configuration = await fixture.api<{ id: string }>('POST', '/configurations', { accountId, name: `${name}-settings`, content });
          assert.equal(configuration.status, 201, JSON.stringify(configuration.body));
          if (name === 'north') northConfigurationId = configuration.body.id;
          const category = await fixture.api('POST', '/categories', { accountId, name, configurationId: configuration.body.id });
          assert.equal(category.status, 201, JSON.stringify(category.body));
        }
        const requests = [...north, ...southFleet].map((clientId) => ({ accountId, clientId, category: clientId.split('-')[0], tags: [siteOf(clientId)] }));
        const response = await fetch(`${fixture.apiUrl}/provision-requests/batch`, {
          method: 'POST',
          headers: { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/json', accept: 'text/csv' },
          body: JSON.stringify({ requests }),
        });
        assert.equal(response.status, 201, await response.clone().text());
        for (const entry of parseCredentialsCsv(await response.text())) credentials.set(entry.clientId, entry);
        assert.equal(credentials.size, fleetSize);
      });

      it(`Should bring ${fleetSize - singles.length} fleet devices and two single ones online, with eight north devices provisioned and offline`, async (t) => {
        const fleetCredentials = [...northFleet, ...southFleet].map((clientId) => credentials.get(clientId)!);
        let done = 0;
        const provisioningStarted = Date.now();
        fleetRun = runFleet({
          credentials: fleetCredentials,
          concurrency: 50,
          brokerUrl: platformUrls().provisionBrokerUrl,
          trustedRootPem: fixture.rootPem,
          stateRoot: join(workDir, 'fleet'),
          settings: { timeout: 30_000, 'retry-interval': 500 },
          // Until the test ends (stopFleet); the duration is only a backstop.
          stayOnline: { durationMs: 15 * 60_000 },
          signal: stopFleet.signal,
          onProgress: (provisioned, failed) => void (done = provisioned + failed),
        });
        await goOnline(refuser, { refuseConfigurations: true });
        await goOnline(failer, { failJobs: true });
        // Each leaves once the registry has recorded its birth. Leaving right after the birth's PUBACK can leave it shown online
        // for good on Redis: the birth handler's online write (a read, then a script) can land after the disconnect's offline one.
        for (const clientId of [...offAtEdit, late]) {
          const since = Date.now();
          await connectOnceAndLeave(await factoryFreshDeviceOrKept(clientId), () =>
            eventually(
              () => devicesWhere(`clientId=${clientId}`),
              ([device]) => device?.online === true && Date.parse(device.lastBirthOn ?? '') >= since,
              `${clientId}'s birth recorded`,
            ),
          );
        }
        await eventually(
          () => done,
          (count) => count === fleetCredentials.length,
          'the fleet provisioned',
          150_000,
        );
        const provisionedIn = Date.now() - provisioningStarted;
        const online = fleetSize - 1 - offAtEdit.length;
        await eventually(
          () => total('online=true'),
          (count) => count === online,
          `${online} devices online in the registry`,
          60_000,
        );
        assert.equal(await total('online=false'), offAtEdit.length + 1, 'the eight provisioned devices are offline');
        const offline = (await devicesWhere('online=false')).map((device) => device.clientId).sort();
        assert.deepEqual(offline, [...offAtEdit, late].sort());
        t.diagnostic(
          `${fleetCredentials.length} fleet devices provisioned in ${(provisionedIn / 1000).toFixed(1)} s; ${online} online in the registry after ${((Date.now() - provisioningStarted) / 1000).toFixed(1)} s`,
        );
      });

      it("Should push an edited north configuration to exactly north's online devices, acknowledged APPLIED; the refusing one is REFUSED with its reason", async (t) => {
        const before = byClientId(await devicesWhere(''));
        for (const clientId of north)
          assert.equal(before.get(clientId)?.expectedConfigurationHash, hashOf(northContent), `${clientId} holds north's configuration`);
        for (const clientId of southFleet)
          assert.equal(before.get(clientId)?.reportedConfigurationHash, hashOf(southContent), `${clientId} runs south's configuration`);

        const editedAt = Date.now();
        const edit = await fixture.api('PATCH', `/configurations/${northConfigurationId}`, { version: 1, content: northEdited });
        assert.equal(edit.status, 200, JSON.stringify(edit.body));
        const onlineNorth = north.length - offAtEdit.length - 1;
        const newHash = hashOf(northEdited);
        // Until each online north device has answered: the refuser REFUSED, every other one APPLIED with the new hash. (The
        // in-sync filter alone cannot tell: a device not yet sent the edit still has the old hash as both expected and reported.)
        await eventually(
          () => devicesWhere('category=north&online=true'),
          (devices) =>
            devices.length === onlineNorth &&
            devices.every((device) =>
              device.clientId === refuser
                ? device.configurationState === 'REFUSED'
                : device.configurationState === 'APPLIED' && device.reportedConfigurationHash === newHash,
            ),
          'every online north device answered the edit',
          30_000,
        );
        const answeredAfterMs = Date.now() - editedAt;
        assert.equal(await total('category=north&online=true&configurationInSync=true'), onlineNorth - 1, 'in sync: every online north device but the refuser');

        const now = byClientId(await devicesWhere(''));
        for (const clientId of north) {
          const device = now.get(clientId)!;
          if (clientId === refuser) {
            assert.deepEqual(
              [device.expectedConfigurationHash, device.reportedConfigurationHash, device.configurationState, device.configurationError],
              [newHash, hashOf(northContent), 'REFUSED', refuseConfigurationsReason],
              'the registry says the refuser refused, and why',
            );
          } else if (device.online) {
            assert.deepEqual([device.reportedConfigurationHash, device.configurationState], [newHash, 'APPLIED'], `${clientId} applied the edit`);
          } else {
            assert.equal(device.reportedConfigurationHash, hashOf(northContent), `${clientId} is offline: it has not got it yet`);
          }
        }
        for (const clientId of southFleet) {
          const device = now.get(clientId)!;
          assert.deepEqual(
            [device.expectedConfigurationHash, device.reportedConfigurationHash, device.configurationState],
            [hashOf(southContent), hashOf(southContent), 'APPLIED'],
            `${clientId} keeps south's configuration`,
          );
        }
        // On the wire: one push to each online north device, none to south or to the offline devices.
        const sent = wire.countsSince('configuration', editedAt);
        const expected = new Map(north.filter((clientId) => now.get(clientId)!.online).map((clientId) => [clientId, 1]));
        assert.deepEqual(new Map([...sent].sort()), new Map([...expected].sort()));
        assert.ok(live.get(refuser)!.events.some(({ event }) => event === 'configuration-refused'));
        t.diagnostic(
          `the edit reached the ${onlineNorth} online north devices and ${onlineNorth - 1} acknowledged it APPLIED, one REFUSED, in ${answeredAfterMs} ms`,
        );
      });

      it('Should send the edited configuration to the north devices offline at the edit when they connect again', async () => {
        const since = Date.now();
        await Promise.all(offAtEdit.map((clientId) => goOnline(clientId)));
        const newHash = hashOf(northEdited);
        const devices = await eventually(
          async () => (await devicesWhere('category=north&online=true')).filter((device) => offAtEdit.includes(device.clientId)),
          (found) =>
            found.length === offAtEdit.length &&
            found.every((device) => device.configurationState === 'APPLIED' && device.reportedConfigurationHash === newHash),
          'the reconnected devices applied the edit',
          30_000,
        );
        assert.ok(devices.every((device) => device.expectedConfigurationHash === newHash));
        const sent = wire.countsSince('configuration', since);
        assert.deepEqual(
          offAtEdit.map((clientId) => sent.get(clientId)),
          offAtEdit.map(() => 1),
        );
        assert.deepEqual(
          [...sent.keys()].filter((clientId) => !offAtEdit.includes(clientId)),
          [],
          'no one else was pushed anything',
        );
      });

      it('Should roll a job with a bundle out to north: INSTALLED on its online devices, FAILED with its reason on one, INSTALLED on a late one, none in south', async (t) => {
        const content = randomBytes(4096);
        const upload = await fetch(`${fixture.apiUrl}/bundles?accountId=${accountId}&name=org.example.north-agent&version=1.1.0`, {
          method: 'POST',
          headers: { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/octet-stream' },
          body: content,
        });
        assert.equal(upload.status, 201);
        const bundle = (await upload.json()) as { id: string; sha256: string };
        const createdAt = Date.now();
        const job = await fixture.api<{ id: string }>('POST', '/update-jobs', {
          accountId,
          name: 'north agent 1.1.0',
          category: 'north',
          bundleIds: [bundle.id],
        });
        assert.equal(job.status, 201, JSON.stringify(job.body));
        const jobPath = `/update-jobs/${job.body.id}`;
        type JobDetail = { state: string; counts: Record<string, number>; matchingDevices: number };
        const onlineNorth = north.length - 1;
        await eventually(
          async () => (await fixture.api<JobDetail>('GET', jobPath)).body.counts,
          (counts) => counts['INSTALLED'] === onlineNorth - 1 && counts['FAILED'] === 1,
          'the online north devices done with the job',
          60_000,
        );
        const rolledOutMs = Date.now() - createdAt;
        // A south device connects again after the job was made (its connection cut on the broker side): its birth must not
        // get it the job. Done before the late north device connects, whose INSTALLED then bounds the wait.
        const droppedAt = Date.now();
        connectedClient(fixture.platform.accountBroker.aedes, southFleet[0]!).close();
        await eventually(
          () => devicesWhere(`clientId=${southFleet[0]}`),
          ([device]) => device?.online === true && Date.parse(device.lastBirthOn ?? '') >= droppedAt,
          `${southFleet[0]} born again`,
          20_000,
        );
        await goOnline(late);
        const detail = await eventually(
          async () => (await fixture.api<JobDetail>('GET', jobPath)).body,
          (body) => body.counts['INSTALLED'] === onlineNorth,
          `${late} installed the job`,
          30_000,
        );
        assert.deepEqual(detail.counts, { PENDING: 0, SENT: 0, DOWNLOADING: 0, INSTALLED: north.length - 1, FAILED: 1 });
        assert.equal(detail.matchingDevices, north.length);
        assert.equal(detail.state, 'RUNNING', 'no failure threshold: one failure does not stop it');

        const failed = await fixture.api<{ items: { clientId: string; state: string; error: string | null }[] }>('GET', `${jobPath}/devices?state=FAILED`);
        assert.deepEqual(
          failed.body.items.map(({ clientId, state, error }) => ({ clientId, state, error })),
          [{ clientId: failer, state: 'FAILED', error: failJobsReason }],
        );
        const statuses = await fixture.api<{ items: { clientId: string }[]; total: number }>('GET', `${jobPath}/devices?limit=1000`);
        assert.equal(statuses.body.total, north.length);
        assert.deepEqual(
          statuses.body.items.map((item) => item.clientId).sort(),
          [...north].sort(),
          'every north device has a status, no south device has one',
        );
        assert.deepEqual(
          new Map([...wire.countsSince('job', createdAt)].sort()),
          new Map(north.map((clientId) => [clientId, 1] as const).sort()),
          'the job command went once to each north device, to no south device',
        );

        const installed = [{ name: 'org.example.north-agent', version: '1.1.0', sha256: bundle.sha256 }];
        const devices = await eventually(
          () => devicesWhere(''),
          (all) => all.filter((device) => device.bundles.length > 0).length === north.length - 1,
          'the bundles recorded',
          10_000,
        );
        for (const device of devices) {
          const expected = device.category === 'north' && device.clientId !== failer ? installed : [];
          assert.deepEqual(device.bundles, expected, `${device.clientId}'s installed bundles`);
        }
        assert.deepEqual(await live.get(late)!.state.readBundle('org.example.north-agent', '1.1.0'), content, `${late} stored the bundle`);
        t.diagnostic(`the job reached ${onlineNorth} online north devices (${onlineNorth - 1} INSTALLED, 1 FAILED) in ${(rolledOutMs / 1000).toFixed(1)} s`);
      });

      it('Should list and filter the registry by category, tag, online state, configuration in sync, model and firmware, and export the selection as CSV', async () => {
        // One device leaves, so that the online filter has both answers.
        await live.get(late)!.leave();
        live.delete(late);
        await eventually(
          () => total('online=false'),
          (count) => count === 1,
          `${late} offline`,
        );
        const totals: Record<string, number> = {};
        for (const query of [
          '',
          'category=north',
          'category=south',
          'tag=site-1',
          'tag=site-2',
          'category=north&tag=site-2',
          'online=true',
          'online=false',
          'category=north&online=false',
          'configurationInSync=true',
          'configurationInSync=false',
          'category=south&configurationInSync=true',
          'model=agent-sim',
          `firmware=${singleFirmware}`,
        ]) {
          totals[query] = await total(query);
        }
        assert.deepEqual(totals, {
          '': fleetSize,
          'category=north': perCategory,
          'category=south': perCategory,
          'tag=site-1': fleetSize / 2,
          'tag=site-2': fleetSize / 2,
          'category=north&tag=site-2': perCategory / 2,
          'online=true': fleetSize - 1,
          'online=false': 1,
          'category=north&online=false': 1,
          'configurationInSync=true': fleetSize - 1,
          'configurationInSync=false': 1,
          'category=south&configurationInSync=true': perCategory,
          'model=agent-sim': fleetSize,
          [`firmware=${singleFirmware}`]: singles.length,
        });
        assert.deepEqual(
          (await devicesWhere('configurationInSync=false')).map((device) => device.clientId),
          [refuser],
        );

        for (const query of ['category=north', 'tag=site-1&online=true', '']) {
          const response = await fetch(`${fixture.apiUrl}/devices?accountId=${accountId}&${query}`, {
            headers: { authorization: `Bearer ${fixture.adminToken}`, accept: 'text/csv' },
          });
          assert.equal(response.status, 200);
          const rows = parse(await response.text(), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
          const selection = await devicesWhere(query);
          assert.deepEqual(
            rows.map((row) => row['clientId']),
            selection.map((device) => device.clientId),
            `one row per device of "${query}"`,
          );
          for (const row of rows) {
            const device = selection.find((item) => item.clientId === row['clientId'])!;
            assert.deepEqual(
              [row['category'], row['tags'], row['online'], row['configurationState'], row['reportedConfigurationHash']],
              [device.category, device.tags.join(';'), String(device.online), device.configurationState, device.reportedConfigurationHash],
              `${device.clientId}'s row`,
            );
          }
        }
      });

      it('Should have kept the fleet online and failure-free throughout', async (t) => {
        stopFleet.abort();
        const summary = await fleetRun!;
        assert.deepEqual(summary.failuresByReason, {});
        assert.equal(summary.provisioned, fleetSize - singles.length);
        assert.equal(summary.renewals?.reconnects, 1, `no fleet device lost its connection but ${southFleet[0]}, cut by the test`);
        assert.equal(summary.renewals?.devicesShort, 0);
        t.diagnostic(
          `${backend}: whole scenario ${((Date.now() - startedAt) / 1000).toFixed(1)} s; provisioning p50 ${summary.latencyMs.p50} ms, p99 ${summary.latencyMs.p99} ms`,
        );
      });
    },
  );
}
