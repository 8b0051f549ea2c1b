import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { createAccountAndRequest, startTestPlatform, type CreatedRequest, type TestPlatform } from './support/platform-fixture.ts';
import { connectOutcome, provisionDevice, publishOutcome, subackCode, type ProvisionedDevice } from './support/security-kit.ts';

/**
 * Who may connect where, and which topics each may use, over both brokers: docs/SECURITY.md
 * ("A device publishes and subscribes only inside …") and docs/PROTOCOL.md §2 and §10, as one table.
 */
const internalPassword = 'internal-worker-password-for-the-matrix-0001';

describe('access matrix: who may connect to which broker', () => {
  let fixture: TestPlatform;
  let deviceA: CreatedRequest;
  let deviceB: CreatedRequest;
  let accountDevice: ProvisionedDevice;
  let otherAccountDevice: ProvisionedDevice;
  let urls: { tls: string; tcp: string; account: string };

  before(async () => {
    fixture = await startTestPlatform({ internalPassword, authFailureLimit: 1000 });
    deviceA = await createAccountAndRequest(fixture, 'mx-a');
    deviceB = await createAccountAndRequest(fixture, 'mx-b');
    accountDevice = await provisionDevice(fixture, 'mx-acct');
    otherAccountDevice = await provisionDevice(fixture, 'mx-glob', { account: 'globex' });
    urls = {
      tls: `mqtts://localhost:${fixture.platform.provisionBroker.mqttsPort}`,
      tcp: `mqtt://127.0.0.1:${fixture.platform.provisionBroker.mqttPort}`,
      account: `mqtts://localhost:${fixture.platform.accountBroker.mqttsPort}`,
    };
  });
  after(() => fixture.close());

  // Expected outcome on the provision broker (TLS and TCP alike) and on the account broker.
  // 'refused' on the account broker = the mutual-TLS handshake failed (no or no valid certificate).
  const clients: { kind: string; options: () => IClientOptions; provision: string; provisionTls?: string; account: string }[] = [
    {
      kind: 'unknown clientId',
      options: () => ({ clientId: 'mx-nobody', username: 'mx-nobody', password: 'guess' }),
      provision: 'connack 4',
      account: 'refused',
    },
    {
      kind: 'wrong password',
      options: () => ({ clientId: 'mx-a', username: deviceA.username, password: 'wrong' }),
      provision: 'connack 4',
      account: 'refused',
    },
    { kind: 'no credentials', options: () => ({ clientId: 'mx-a' }), provision: 'connack 4', account: 'refused' },
    {
      kind: 'provisioning device A',
      options: () => ({ clientId: 'mx-a', username: deviceA.username, password: deviceA.password }),
      provision: 'connected',
      account: 'refused',
    },
    {
      kind: 'provisioning device B',
      options: () => ({ clientId: 'mx-b', username: deviceB.username, password: deviceB.password }),
      provision: 'connected',
      account: 'refused',
    },
    {
      kind: 'account device, used-up credentials + its certificate',
      options: () => ({
        clientId: 'mx-acct',
        username: accountDevice.request.username,
        password: accountDevice.request.password,
        cert: accountDevice.certPem,
        key: accountDevice.keyPem,
      }),
      provision: 'connack 4',
      account: 'connected',
    },
    {
      kind: 'device of another account, its certificate',
      options: () => ({ clientId: 'mx-glob', cert: otherAccountDevice.certPem, key: otherAccountDevice.keyPem }),
      // Over TLS a certificate without a password is taken for a factory certificate (PROTOCOL.md §17): not a manufacturer CA's, CONNACK 5.
      provisionTls: 'connack 5',
      provision: 'connack 4',
      account: 'connected',
    },
    {
      kind: "account device's certificate under another clientId",
      options: () => ({ clientId: 'mx-glob', cert: accountDevice.certPem, key: accountDevice.keyPem }),
      // Over TLS a certificate without a password is taken for a factory certificate (PROTOCOL.md §17): not a manufacturer CA's, CONNACK 5.
      provisionTls: 'connack 5',
      provision: 'connack 4',
      account: 'connack 5',
    },
    // The account broker authenticates by certificate only: the workers' password opens nothing there.
    {
      kind: 'internal worker',
      options: () => ({ clientId: 'provisio-worker-1', username: 'provisio-internal', password: internalPassword }),
      provision: 'connected',
      account: 'refused',
    },
    {
      kind: 'internal user, wrong password',
      options: () => ({ clientId: 'provisio-worker-2', username: 'provisio-internal', password: 'nope' }),
      provision: 'connack 4',
      account: 'refused',
    },
  ];

  for (const client of clients) {
    it(`${client.kind}: provision broker ${client.provisionTls ? `${client.provisionTls} (TLS), ${client.provision} (TCP)` : `${client.provision} (TLS and TCP)`}, account broker ${client.account}`, async () => {
      const ca = fixture.rootPem;
      assert.equal(await connectOutcome(urls.tls, { ...client.options(), ca }), client.provisionTls ?? client.provision, 'provision broker, TLS');
      // Without cert/key: mqtt.js would switch an mqtt:// URL to TLS when given them.
      const { cert: _cert, key: _key, ...plain } = client.options();
      assert.equal(await connectOutcome(urls.tcp, plain), client.provision, 'provision broker, TCP');
      assert.equal(await connectOutcome(urls.account, { ...client.options(), ca }), client.account, 'account broker');
    });
  }

  // clientIds (protocol/topics.ts isAcceptableClientId; every case in test/client-id-rule.test.ts): 1 to
  // 128 bytes of UTF-8 in NFC, no '/', '+', '#', control or invisible characters, no leading '$'. Anything
  // else, unicode included, is acceptable and then judged by its credentials (CONNACK 4 when none match).
  const clientIds: { clientId: string; connack: number }[] = [
    { clientId: '', connack: 2 },
    { clientId: 'x'.repeat(129), connack: 2 },
    { clientId: 'x'.repeat(4096), connack: 2 },
    { clientId: 'a\u0000b', connack: 2 },
    { clientId: 'a/b', connack: 2 },
    { clientId: '/', connack: 2 },
    { clientId: 'dev+', connack: 2 },
    { clientId: 'dev#', connack: 2 },
    { clientId: '$dev', connack: 2 },
    { clientId: '$SYS', connack: 2 },
    { clientId: 'tab\tid', connack: 2 },
    { clientId: 'del\u007f', connack: 2 },
    { clientId: 'c1\u0085', connack: 2 },
    { clientId: 'x'.repeat(128), connack: 4 },
    { clientId: 'dev$', connack: 4 },
    { clientId: 'gerät-ü-設備-😀', connack: 4 },
  ];
  for (const { clientId, connack } of clientIds) {
    it(`clientId ${JSON.stringify(clientId.length > 20 ? `${clientId.slice(0, 8)}…(${clientId.length})` : clientId)}: CONNACK ${connack} on both listeners`, async () => {
      const options = { clientId, username: 'someone', password: 'something', clean: true };
      assert.equal(await connectOutcome(urls.tls, { ...options, ca: fixture.rootPem }), `connack ${connack}`);
      assert.equal(await connectOutcome(urls.tcp, options), `connack ${connack}`);
    });
  }

  it('clientId with unicode: accepted end to end when a request exists, namespace included', async () => {
    const request = await createAccountAndRequest(fixture, 'gerät-ü-設備');
    const client = await connectAsync(urls.tls, {
      clientId: request.clientId,
      username: request.username,
      password: request.password,
      ca: fixture.rootPem,
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    try {
      assert.equal(await subackCode(client, '$EDC/provisioning/gerät-ü-設備/PROV-V1/REPLY/+'), 1);
      assert.equal(await subackCode(client, '$EDC/provisioning/gerät-ü/#'), 128);
    } finally {
      await client.endAsync();
    }
  });

  it('a clientId refused at CONNECT is refused on the account broker too, even with a valid certificate', async () => {
    const outcome = await connectOutcome(urls.account, { clientId: 'mx-acct/#', cert: accountDevice.certPem, key: accountDevice.keyPem, ca: fixture.rootPem });
    assert.equal(outcome, 'connack 2');
  });
});

describe('access matrix: which topics each connected client may use', () => {
  let fixture: TestPlatform;
  let deviceA: CreatedRequest;
  let accountDevice: ProvisionedDevice;
  let otherAccountDevice: ProvisionedDevice;

  before(async () => {
    fixture = await startTestPlatform({ internalPassword, authFailureLimit: 1000 });
    deviceA = await createAccountAndRequest(fixture, 'tp-a');
    await createAccountAndRequest(fixture, 'tp-b');
    accountDevice = await provisionDevice(fixture, 'tp-acct');
    otherAccountDevice = await provisionDevice(fixture, 'tp-glob', { account: 'globex' });
  });
  after(() => fixture.close());

  type Connector = () => Promise<MqttClient>;
  const provisionConnector =
    (options: () => IClientOptions, tcp = false): Connector =>
    () =>
      fixture.connectProvision({ ...options(), ...(tcp ? { tcp: true } : {}) });
  const accountConnector =
    (device: () => ProvisionedDevice): Connector =>
    () =>
      connectAsync(`mqtts://localhost:${fixture.platform.accountBroker.mqttsPort}`, {
        clientId: device().request.clientId,
        cert: device().certPem,
        key: device().keyPem,
        ca: fixture.rootPem,
        protocolVersion: 4,
        reconnectPeriod: 0,
      });

  // sub: SUBACK return code; pub: 'accepted' (PUBACK) or 'closed' (the broker drops the connection).
  interface TopicCase {
    readonly topicClass: string;
    readonly filter?: string;
    readonly sub?: number;
    readonly topic?: string;
    readonly pub?: 'accepted' | 'closed';
  }
  const deviceA_: () => IClientOptions = () => ({ clientId: 'tp-a', username: deviceA.username, password: deviceA.password });
  const internal: () => IClientOptions = () => ({ clientId: 'tp-worker', username: 'provisio-internal', password: internalPassword });

  const provisioningDeviceCases: TopicCase[] = [
    { topicClass: 'own namespace', filter: '$EDC/provisioning/tp-a/PROV-V1/REPLY/+', sub: 1, topic: '$EDC/provisioning/tp-a/APP/x', pub: 'accepted' },
    { topicClass: 'own namespace, whole', filter: '$EDC/provisioning/tp-a/#', sub: 1 },
    { topicClass: 'own namespace root without a level', filter: '$EDC/provisioning/tp-a', sub: 128, topic: '$EDC/provisioning/tp-a', pub: 'closed' },
    { topicClass: "another device's", filter: '$EDC/provisioning/tp-b/#', sub: 128, topic: '$EDC/provisioning/tp-b/PROV-V1/EXEC/provision', pub: 'closed' },
    { topicClass: 'a sibling whose name starts with mine', filter: '$EDC/provisioning/tp-ab/#', sub: 128, topic: '$EDC/provisioning/tp-ab/x', pub: 'closed' },
    { topicClass: "another account's", filter: '$EDC/acme/tp-a/#', sub: 128, topic: '$EDC/acme/tp-a/x', pub: 'closed' },
    { topicClass: '#', filter: '#', sub: 128 },
    { topicClass: '+/…', filter: '+/tp-a/#', sub: 128, topic: 'provisioning/tp-a/x', pub: 'closed' },
    { topicClass: '$EDC/+/…', filter: '$EDC/+/tp-a/#', sub: 128 },
    { topicClass: '$EDC/provisioning/+/…', filter: '$EDC/provisioning/+/PROV-V1/REPLY/+', sub: 128 },
    { topicClass: '$SYS/#', filter: '$SYS/#', sub: 128, topic: '$SYS/broker/x', pub: 'closed' },
    { topicClass: '$EDC/#', filter: '$EDC/#', sub: 128 },
    { topicClass: 'shared subscription', filter: '$share/g/$EDC/provisioning/tp-a/#', sub: 128 },
    { topicClass: 'wildcard publish +, own namespace', topic: '$EDC/provisioning/tp-a/+', pub: 'closed' },
    { topicClass: 'wildcard publish #, own namespace', topic: '$EDC/provisioning/tp-a/#', pub: 'closed' },
    { topicClass: 'payload over maxMessageBytes, own namespace', topic: '$EDC/provisioning/tp-a/big', pub: 'closed' },
  ];
  const internalCases: TopicCase[] = [
    { topicClass: '#', filter: '#', sub: 1 },
    { topicClass: '$SYS/#', filter: '$SYS/#', sub: 1 },
    { topicClass: '$EDC/#', filter: '$EDC/#', sub: 1 },
    { topicClass: "a device's reply topic", topic: '$EDC/provisioning/tp-a/PROV-V1/REPLY/x', pub: 'accepted' },
    { topicClass: 'wildcard publish', topic: '$EDC/provisioning/+/x', pub: 'closed' },
  ];
  const accountDeviceCases: TopicCase[] = [
    { topicClass: 'own $EDC namespace', filter: '$EDC/acme/tp-acct/#', sub: 1, topic: '$EDC/acme/tp-acct/APP/data', pub: 'accepted' },
    { topicClass: 'own account namespace', filter: 'acme/tp-acct/telemetry', sub: 1, topic: 'acme/tp-acct/telemetry', pub: 'accepted' },
    { topicClass: "another device's", filter: '$EDC/acme/tp-a/#', sub: 128, topic: '$EDC/acme/tp-a/x', pub: 'closed' },
    { topicClass: "another device's, account namespace", filter: 'acme/tp-a/#', sub: 128, topic: 'acme/tp-a/x', pub: 'closed' },
    { topicClass: "another account's", filter: '$EDC/globex/tp-glob/#', sub: 128, topic: 'globex/tp-glob/x', pub: 'closed' },
    { topicClass: 'its name under another account', filter: '$EDC/globex/tp-acct/#', sub: 128, topic: '$EDC/globex/tp-acct/x', pub: 'closed' },
    {
      topicClass: 'the provisioning namespace',
      filter: '$EDC/provisioning/tp-acct/#',
      sub: 128,
      topic: '$EDC/provisioning/tp-acct/PROV-V1/EXEC/provision',
      pub: 'closed',
    },
    { topicClass: '#', filter: '#', sub: 128 },
    { topicClass: '+/…', filter: '+/tp-acct/#', sub: 128 },
    { topicClass: 'acme/+/…', filter: 'acme/+/telemetry', sub: 128 },
    { topicClass: '$SYS/#', filter: '$SYS/#', sub: 128 },
    { topicClass: '$EDC/#', filter: '$EDC/#', sub: 128 },
    { topicClass: 'wildcard publish', topic: 'acme/tp-acct/+', pub: 'closed' },
    { topicClass: 'wildcard publish #', topic: '$EDC/acme/tp-acct/#', pub: 'closed' },
  ];
  const otherAccountCases: TopicCase[] = [
    { topicClass: 'own namespace', filter: '$EDC/globex/tp-glob/#', sub: 1, topic: 'globex/tp-glob/x', pub: 'accepted' },
    { topicClass: "the first account's device", filter: '$EDC/acme/tp-acct/#', sub: 128, topic: 'acme/tp-acct/telemetry', pub: 'closed' },
    { topicClass: '#', filter: '#', sub: 128 },
  ];

  const matrix: { who: string; connect: Connector; cases: TopicCase[] }[] = [
    { who: 'provisioning device A (TLS)', connect: provisionConnector(deviceA_), cases: provisioningDeviceCases },
    { who: 'provisioning device A (TCP)', connect: provisionConnector(deviceA_, true), cases: provisioningDeviceCases },
    { who: 'internal worker (provision broker)', connect: provisionConnector(internal), cases: internalCases },
    { who: 'account device (account broker)', connect: accountConnector(() => accountDevice), cases: accountDeviceCases },
    { who: 'device of another account (account broker)', connect: accountConnector(() => otherAccountDevice), cases: otherAccountCases },
  ];

  for (const { who, connect, cases } of matrix) {
    describe(who, () => {
      for (const topicCase of cases) {
        const expectations = [
          topicCase.filter !== undefined ? `SUBSCRIBE ${topicCase.filter} → ${topicCase.sub}` : null,
          topicCase.topic !== undefined ? `PUBLISH ${topicCase.topic} → ${topicCase.pub}` : null,
        ].filter(Boolean);
        it(`${topicCase.topicClass}: ${expectations.join(', ')}`, async () => {
          if (topicCase.filter !== undefined) {
            const client = await connect();
            try {
              assert.equal(await subackCode(client, topicCase.filter), topicCase.sub);
              assert.ok(client.connected, 'a refused SUBSCRIBE leaves the connection up');
            } finally {
              await client.endAsync(true);
            }
          }
          if (topicCase.topic !== undefined) {
            const client = await connect();
            try {
              const payload = topicCase.topicClass.startsWith('payload over') ? Buffer.alloc(fixture.config.maxMessageBytes + 1, 0x20) : '{}';
              assert.equal(await publishOutcome(client, topicCase.topic, payload), topicCase.pub);
            } finally {
              await client.endAsync(true);
            }
          }
        });
      }
    });
  }

  it("a device never receives another device's messages, even the internal worker's publish to it", async () => {
    const a = await fixture.connectProvision(deviceA_());
    const worker = await fixture.connectProvision(internal());
    try {
      const received: string[] = [];
      a.on('message', (topic) => received.push(topic));
      assert.equal(await subackCode(a, '$EDC/provisioning/tp-a/#'), 1);
      await worker.publishAsync('$EDC/provisioning/tp-b/PROV-V1/REPLY/x', '{}', { qos: 1 });
      await worker.publishAsync('$EDC/provisioning/tp-a/PROV-V1/REPLY/marker', '{}', { qos: 1 });
      const deadline = Date.now() + 10_000;
      while (!received.includes('$EDC/provisioning/tp-a/PROV-V1/REPLY/marker') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(received, ['$EDC/provisioning/tp-a/PROV-V1/REPLY/marker']);
    } finally {
      await Promise.all([a.endAsync(true), worker.endAsync(true)]);
    }
  });
});
