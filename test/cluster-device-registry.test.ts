import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { MqttClient } from 'mqtt';
import { startCluster, type Cluster } from '../dev-support/cluster.ts';
import { startRedisOrSkip, type RedisServer } from '../dev-support/redis-server.ts';
import { configurationHash } from '../protocol/configuration-hash.ts';
import { configurationResultTopic, decodeConfigurationPushBody, encodeConfigurationResult, type ConfigurationPushBody } from '../protocol/configuration.ts';
import { decodeConfigurationPush, encodeBirth } from '../protocol/messages.ts';
import { verifyBodySignature } from '../protocol/signing.ts';
import { birthTopic, configurationPushTopic } from '../protocol/topics.ts';
import { connectAccount, provisionOverMqtt, type WireProvisioned } from './support/wire-provisioning.ts';

/**
 * Issue 15 §1 on a two-broker cluster on Redis: the registry's online state and brokerId follow
 * the account broker's connects and disconnects across broker processes.
 *
 * Ten devices are online, five on each broker process. A configuration edited through the API
 * process reaches every one of them at once (the fleet-update channel to whichever broker process
 * holds the device) and their CONF-V1 results are recorded. A device that moves to broker-2 while
 * still connected to broker-1 stays shown on broker-2 when broker-1 records the end of its old
 * connection after the birth on broker-2 (broker-1 is frozen with SIGSTOP meanwhile, to make that
 * order). Broker-2 killed with SIGKILL records no disconnect, yet its devices are shown offline
 * within a bounded wait (broker-1's heartbeat sweep) while those on broker-1 stay online; one of
 * them then moves to broker-1. Broker-1 stopped gracefully, with no broker process left to sweep,
 * marks its devices offline itself.
 */

const account = 'c-registry';
/** PROVISIO_BROKER_HEARTBEAT_SECONDS of the cluster: a broker process silent for 3 s is gone. */
const heartbeatSeconds = 1;
/** How long a killed broker's devices may still be shown online: 3 missed heartbeats, one sweep interval, and slack. */
const goneBoundMs = 15_000;
/** How long an online device may wait for a pushed configuration after the API answered the edit. */
const pushBoundMs = 5000;
const devicesPerBroker = 5;

/** The CONF-V1 pushes a device's connection receives, in arrival order. */
interface PushInbox {
  /** The next push that satisfies `accept` (one already received counts), bounded. */
  next(accept: (body: ConfigurationPushBody) => boolean, timeoutMs: number): Promise<{ requestId: string; body: ConfigurationPushBody; signed: boolean }>;
}

interface OnlineDevice {
  readonly clientId: string;
  readonly provisioned: WireProvisioned;
  /** The broker process it connected to (0: broker-1, 1: broker-2). */
  brokerIndex: number;
  client: MqttClient;
  inbox: PushInbox;
  /** The hash of the configuration it runs. */
  runs: string;
}

interface DeviceView {
  readonly clientId: string;
  readonly online: boolean;
  readonly brokerId: string | null;
  readonly configurationState: string | null;
  readonly expectedConfigurationHash: string | null;
  readonly reportedConfigurationHash: string | null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('device registry on a two-broker cluster', () => {
  let redis: RedisServer | null;
  let cluster: Cluster | undefined;
  let rootPem: string;
  let accountId: string;
  let configurationId: string;
  let accountUrls: string[];
  const devices: OnlineDevice[] = [];
  const clients: MqttClient[] = [];
  /** The brokerId the registry shows for each broker process, by index, once the first case saw them. */
  const brokerIds: string[] = [];

  before(async () => {
    redis = await startRedisOrSkip();
    if (!redis) return;
    cluster = await startCluster({ redisUrl: redis.url, brokers: 2, provisioners: 1, env: { PROVISIO_BROKER_HEARTBEAT_SECONDS: String(heartbeatSeconds) } });
    rootPem = await readFile(cluster.rootCaFile, 'utf8');
    accountUrls = ['broker-1', 'broker-2'].map((name) => `mqtts://localhost:${cluster!.byName(name).endpoints['accountMqtts']}`);
    const created = await cluster.api<{ id: string }>('POST', '/accounts', { name: account });
    assert.equal(created.status, 201, created.text);
    accountId = created.body.id;
    const configuration = await cluster.api<{ id: string }>('POST', '/configurations', {
      accountId,
      name: 'sensors',
      content: { device: '${clientId}', telemetry: { intervalSeconds: 60 } },
    });
    assert.equal(configuration.status, 201, configuration.text);
    configurationId = configuration.body.id;
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.endAsync(true)));
    await cluster?.close();
    await redis?.stop();
  });

  /** Every device of the account as the admin API lists it, by clientId. */
  async function registry(query = ''): Promise<Map<string, DeviceView>> {
    const page: { status: number; text: string; body: { items: DeviceView[] } } = await cluster!.api(
      'GET',
      `/devices?accountId=${accountId}&limit=100${query}`,
    );
    assert.equal(page.status, 200, page.text);
    return new Map(page.body.items.map((item) => [item.clientId, item]));
  }

  /** Polls the registry until `holds` is true of it, at most `timeoutMs`; fails with what it last saw. */
  async function registryUntil(what: string, holds: (devices: Map<string, DeviceView>) => boolean, timeoutMs: number): Promise<Map<string, DeviceView>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = await registry();
      if (holds(seen)) return seen;
      if (Date.now() >= deadline)
        assert.fail(`${what}: not so within ${timeoutMs} ms; the registry shows\n${JSON.stringify([...seen.values()], null, 1)}\n${cluster!.logs()}`);
      await sleep(100);
    }
  }

  function pushInbox(client: MqttClient, clientId: string, signingPem: string): PushInbox {
    const received: { requestId: string; body: ConfigurationPushBody; signed: boolean }[] = [];
    const waiters = new Set<() => void>();
    client.on('message', (topic, payload) => {
      if (!topic.endsWith('/CONF-V1/PUT/configuration')) return;
      const push = decodeConfigurationPush(payload);
      const signed = verifyBodySignature(push.body, push.signature, push.signatureAlgorithm, signingPem);
      received.push({ requestId: push.requestId, body: decodeConfigurationPushBody(push.body), signed });
      for (const waiter of waiters) waiter();
    });
    return {
      next: (accept, timeoutMs) =>
        new Promise((resolve, reject) => {
          const look = (): boolean => {
            const index = received.findIndex((push) => accept(push.body));
            if (index < 0) return false;
            waiters.delete(look);
            clearTimeout(timer);
            resolve(received.splice(index, 1)[0]!);
            return true;
          };
          const timer = setTimeout(() => {
            waiters.delete(look);
            reject(new Error(`${clientId}: no such configuration push within ${timeoutMs} ms (${received.length} other)\n${cluster!.logs()}`));
          }, timeoutMs);
          if (!look()) waiters.add(look);
        }),
    };
  }

  /** Connects the device to a broker process, subscribes to its CONF-V1 pushes (§14), then publishes its birth with the hash it runs. */
  async function bringOnline(device: OnlineDevice, brokerIndex: number): Promise<void> {
    const client = await connectAccount(accountUrls[brokerIndex]!, rootPem, device.clientId, device.provisioned);
    clients.push(client);
    const inbox = pushInbox(client, device.clientId, device.provisioned.result.certificates.signing);
    await client.subscribeAsync(configurationPushTopic(account, device.clientId), { qos: 1 });
    Object.assign(device, { client, inbox, brokerIndex });
    await client.publishAsync(birthTopic(account, device.clientId), encodeBirth({ configurationHash: device.runs }), { qos: 1 });
  }

  it('shows ten devices online, each with the brokerId of the broker process it is connected to', async (t) => {
    if (!cluster) return t.skip('redis-server is not installed');
    const provisioned = await Promise.all(
      Array.from({ length: 2 * devicesPerBroker }, async (_, index) => {
        const clientId = `creg-${index}`;
        const created = await cluster!.api<{ credentials: { username: string; password: string } }>('POST', '/provision-requests', {
          accountId,
          clientId,
          configurationId,
        });
        assert.equal(created.status, 201, created.text);
        return {
          clientId,
          device: await provisionOverMqtt({
            provisionUrl: cluster!.provisionUrls[index % 2]!,
            rootPem,
            clientId,
            ...created.body.credentials,
            requestId: `${clientId}-1`,
          }),
        };
      }),
    );
    for (const [index, { clientId, device }] of provisioned.entries()) {
      assert.equal(device.result.configuration.content, JSON.stringify({ device: clientId, telemetry: { intervalSeconds: 60 } }), 'the attached configuration');
      // client and inbox are set by bringOnline, next.
      devices.push({ clientId, provisioned: device, brokerIndex: index < devicesPerBroker ? 0 : 1, runs: device.result.configuration.sha256 } as OnlineDevice);
    }
    await Promise.all(devices.map((device) => bringOnline(device, device.brokerIndex)));

    const seen = await registryUntil('all ten online', (registered) => devices.every((device) => registered.get(device.clientId)?.online === true), 10_000);
    const listedOnline = await registry('&online=true');
    assert.deepEqual([...listedOnline.keys()].sort(), devices.map((device) => device.clientId).sort(), 'online=true lists the ten');
    for (const brokerIndex of [0, 1]) {
      const ids = new Set(devices.filter((device) => device.brokerIndex === brokerIndex).map((device) => seen.get(device.clientId)?.brokerId));
      assert.equal(ids.size, 1, `the devices on broker-${brokerIndex + 1} name one brokerId: ${[...ids].join(', ')}`);
      const [id] = ids;
      assert.match(id ?? '', /^account-/);
      brokerIds[brokerIndex] = id!;
    }
    assert.notEqual(brokerIds[0], brokerIds[1], 'broker-1 and broker-2 are told apart');
    for (const device of devices) assert.equal(seen.get(device.clientId)?.reportedConfigurationHash, device.runs);
  });

  it('pushes an edited configuration at once to the online devices on both broker processes, and records their results', async (t) => {
    if (!cluster) return t.skip('redis-server is not installed');
    assert.equal(devices.length, 2 * devicesPerBroker, 'the devices of the first case are online');
    const content = { device: '${clientId}', telemetry: { intervalSeconds: 15 } };
    const edited = await cluster.api<{ version: number }>('PATCH', `/configurations/${configurationId}`, { version: 1, content });
    assert.equal(edited.status, 200, edited.text);
    assert.equal(edited.body.version, 2);

    // Waited for per device, all at once: no sleep. Every device gets version 2 built for itself.
    const pushes = await Promise.all(devices.map((device) => device.inbox.next((body) => body.version === 2, pushBoundMs)));
    await Promise.all(
      devices.map(async (device, index) => {
        const push = pushes[index]!;
        const expected = JSON.stringify({ device: device.clientId, telemetry: { intervalSeconds: 15 } });
        assert.ok(push.signed, `${device.clientId}: the push verifies against the signing certificate of its provision result`);
        assert.equal(push.body.clientId, device.clientId);
        assert.equal(push.body.requestId, push.requestId);
        assert.equal(push.body.configurationId, configurationId);
        assert.equal(push.body.content, expected);
        assert.equal(push.body.sha256, configurationHash(push.body.content), 'sha256 is the SHA-256 of content');
        device.runs = push.body.sha256;
        await device.client.publishAsync(
          configurationResultTopic(account, device.clientId),
          encodeConfigurationResult({ requestId: push.requestId, result: 'APPLIED', configurationHash: push.body.sha256 }),
          { qos: 1 },
        );
      }),
    );
    const seen = await registryUntil(
      'every device APPLIED with the new hash',
      (registered) =>
        devices.every((device) => {
          const view = registered.get(device.clientId);
          return view?.configurationState === 'APPLIED' && view.reportedConfigurationHash === device.runs;
        }),
      pushBoundMs,
    );
    for (const device of devices) {
      assert.equal(seen.get(device.clientId)?.expectedConfigurationHash, device.runs, `${device.clientId}: the platform holds what it applied`);
      assert.equal(seen.get(device.clientId)?.online, true);
    }
  });

  it('keeps a device that moved to broker-2 online there when broker-1 records the end of its old connection afterwards', async (t) => {
    if (!cluster) return t.skip('redis-server is not installed');
    assert.equal(brokerIds.length, 2, 'the first case saw both brokerIds');
    const mover = devices.find((device) => device.brokerIndex === 0)!;
    const old = mover.client;
    let oldClosed = false;
    old.once('close', () => (oldClosed = true));
    // Broker-1 is frozen (SIGSTOP, for well under the 3 heartbeats that would make it gone) while
    // the device connects to broker-2 with its broker-1 connection still open and is born there:
    // broker-1 sees aedes's cross-broker takeover, and ends the old connection, only afterwards.
    const first = cluster.byName('broker-1').child;
    first.kill('SIGSTOP');
    const frozenAt = Date.now();
    try {
      await bringOnline(mover, 1);
      await registryUntil(
        `${mover.clientId} online on broker-2`,
        (registered) => registered.get(mover.clientId)?.online === true && registered.get(mover.clientId)?.brokerId === brokerIds[1],
        1500,
      );
      assert.equal(oldClosed, false, 'the broker-1 connection is still open while broker-1 is frozen');
    } finally {
      first.kill('SIGCONT');
    }
    const frozenMs = Date.now() - frozenAt;
    assert.ok(
      frozenMs < 2 * heartbeatSeconds * 1000,
      `broker-1 was frozen ${frozenMs} ms: broker-2 may have taken it for gone, the next cases cannot be trusted`,
    );
    for (const closeBy = Date.now() + 5000; !oldClosed; await sleep(50))
      assert.ok(Date.now() < closeBy, `${mover.clientId}: its broker-1 connection still open 5000 ms after broker-1 resumed`);
    // Broker-1 records the end of that connection (recordDeviceOffline) after its close: the
    // registry must go on showing the device online on broker-2.
    for (const settleUntil = Date.now() + 1000; Date.now() < settleUntil; await sleep(100)) {
      const view = (await registry()).get(mover.clientId);
      assert.deepEqual({ online: view?.online, brokerId: view?.brokerId }, { online: true, brokerId: brokerIds[1] }, `${mover.clientId} after the move`);
    }
  });

  it('shows the devices of a broker process killed with SIGKILL offline within a bounded wait, the others still online; one moves to broker-1', async (t) => {
    if (!cluster) return t.skip('redis-server is not installed');
    assert.equal(brokerIds.length, 2, 'the first case saw both brokerIds');
    const onFirst = devices.filter((device) => device.brokerIndex === 0);
    const onSecond = devices.filter((device) => device.brokerIndex === 1);
    const killedAt = Date.now();
    await cluster.byName('broker-2').kill9();
    const seen = await registryUntil(
      "broker-2's devices offline",
      (registered) => onSecond.every((device) => registered.get(device.clientId)?.online === false),
      goneBoundMs,
    );
    t.diagnostic(`broker-2's devices shown offline ${Date.now() - killedAt} ms after the SIGKILL (heartbeat ${heartbeatSeconds} s)`);
    for (const device of onFirst) {
      const view = seen.get(device.clientId);
      assert.equal(view?.online, true, `${device.clientId} on broker-1 is still online`);
      assert.equal(view?.brokerId, brokerIds[0]);
    }

    const mover = onSecond.at(-1)!;
    await bringOnline(mover, 0);
    const moved = await registryUntil(
      `${mover.clientId} online on broker-1`,
      (registered) => registered.get(mover.clientId)?.online === true && registered.get(mover.clientId)?.brokerId === brokerIds[0],
      5000,
    );
    assert.equal(moved.get(mover.clientId)?.reportedConfigurationHash, mover.runs);
    for (const device of onSecond.slice(0, -1)) assert.equal(moved.get(device.clientId)?.online, false, `${device.clientId} stays offline`);
  });

  it('marks the devices of a broker process stopped gracefully offline by itself (no other broker process is left to sweep)', async (t) => {
    if (!cluster) return t.skip('redis-server is not installed');
    const onFirst = devices.filter((device) => device.brokerIndex === 0);
    assert.equal(onFirst.length, devicesPerBroker, 'four that stayed on broker-1 and the one that moved there from broker-2');
    const onlineBefore = await registry('&online=true');
    assert.deepEqual([...onlineBefore.keys()].sort(), onFirst.map((device) => device.clientId).sort());
    await cluster.byName('broker-1').stop();
    // Read once, right after the exit: broker-2 is dead, so only broker-1's own shutdown can have done it.
    const stopped = await registry();
    for (const device of onFirst) assert.equal(stopped.get(device.clientId)?.online, false, `${device.clientId} offline after broker-1 stopped`);
    assert.equal((await registry('&online=true')).size, 0);
  });
});
