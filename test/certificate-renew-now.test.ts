import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { runDevice } from '../agent-sim/device-agent.ts';
import { DeviceState } from '../agent-sim/device-state.ts';
import { defaultSettings } from '../agent-sim/settings.ts';
import { startCluster, type Cluster } from '../dev-support/cluster.ts';
import { codeSpans, findTables } from './support/markdown-tables.ts';
import { startRedisOrSkip, type RedisServer } from '../dev-support/redis-server.ts';
import { ChainVerifier } from '../protocol/chain-verifier.ts';
import { decodeReplyStatement } from '../protocol/messages.ts';
import { decodeRenewNow, renewNowTopic } from '../protocol/renewal.ts';
import { isMessageSigningCertificate, verifyBodySignature } from '../protocol/signing.ts';
import { runAgentSimCli } from './support/agent-sim-cli.ts';
import { createAccountAndRequest, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { onlineSimulatedDevice } from './support/simulated-device.ts';

/**
 * Issue 14 §1, renew now: POST /api/v1/certificate-renewals tells one device, or every online
 * device of an account, to renew; each gets a signed CERT-V1 PUT/renew command on its account
 * broker connection (real mqtt.js clients over mutual TLS). On a cluster the API process is no
 * broker: the command reaches devices on both broker processes through Redis.
 *
 * Commands here say renew.within.seconds = 3600, so that an agent that acts on them does not
 * renew (and reconnect) while these tests watch its connection.
 */

type Api = <T>(method: string, path: string, body?: unknown, token?: string) => Promise<{ status: number; body: T }>;

interface Told {
  readonly topic: string;
  readonly requestId: string;
  readonly withinSeconds: number;
  readonly message: string | undefined;
}

/** What a device's account-broker connection receives on its PUT/renew topic, each command checked as PROTOCOL.md §7 says. */
class RenewInbox {
  readonly commands: Told[] = [];
  /** The payloads as they came, for the check of docs/PROTOCOL.md. */
  readonly payloads: Buffer[] = [];
  /** A command that failed a check, thrown by nth() (an assertion inside mqtt.js's event would be lost). */
  private failure: Error | null = null;
  private waiters: (() => void)[] = [];

  private constructor(
    readonly clientId: string,
    private readonly rootPem: string,
  ) {}

  static async open(client: MqttClient, account: string, clientId: string, rootPem: string): Promise<RenewInbox> {
    const inbox = new RenewInbox(clientId, rootPem);
    const topic = renewNowTopic(account, clientId);
    client.on('message', (received, payload) => {
      if (received !== topic) return;
      inbox.payloads.push(payload);
      try {
        inbox.commands.push(inbox.verified(received, payload));
      } catch (error) {
        inbox.failure ??= error as Error;
      }
      for (const wake of inbox.waiters.splice(0)) wake();
    });
    await client.subscribeAsync(topic, { qos: 1 });
    return inbox;
  }

  /** §7: the signer chains to the device's root and has the signing purpose, the signature covers the body, the body names this device and command. */
  private verified(topic: string, payload: Buffer): Told {
    const command = decodeRenewNow(payload);
    const statement = decodeReplyStatement(command.body);
    const signer = new X509Certificate(statement.certificates.signing);
    assert.deepEqual(new ChainVerifier().check(signer, statement.certificates.chain, this.rootPem), { ok: true }, 'signer chains to the root');
    assert.ok(isMessageSigningCertificate(signer), 'signed by the message-signing certificate');
    assert.ok(verifyBodySignature(command.body, command.signature, command.signatureAlgorithm, signer), 'signature verifies');
    assert.equal(statement.clientId, this.clientId, 'the statement names this device');
    assert.equal(statement.requestId, command.requestId, "the statement names the command's request.id");
    assert.equal(statement.responseCode, 200);
    return { topic, requestId: command.requestId, withinSeconds: command.renewWithinSeconds, message: statement.message };
  }

  /** The n-th command (1-based), waiting for it at most timeoutMs. */
  async nth(n: number, timeoutMs = 10_000): Promise<Told> {
    const deadline = Date.now() + timeoutMs;
    while (this.commands.length < n) {
      if (this.failure) throw this.failure;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.clientId}: ${this.commands.length} renew-now command(s) within ${timeoutMs} ms, not ${n}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.commands[n - 1]!;
  }
}

/** Bounded wait for the marker the birth handler leaves once it recorded the device online: its device.birth audit event. */
async function birthRecorded(api: Api, clientId: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const events = await api<{ total: number }>('GET', `/audit-events?type=device.birth&clientId=${encodeURIComponent(clientId)}`);
    if (events.body.total > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${clientId}: no birth recorded`);
}

interface Renewal {
  readonly renewalId: string;
  readonly devicesTold: number;
  readonly withinSeconds: number;
}

describe('renew now on the all-in-one platform', () => {
  let fixture: TestPlatform;
  let api: Api;
  const clients: MqttClient[] = [];
  const inbox: Record<string, RenewInbox> = {};
  const accountIds: Record<string, string> = {};

  before(async () => {
    fixture = await startTestPlatform();
    api = async (method, path, body, token) => {
      const response = await fetch(`${fixture.apiUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token ?? fixture.adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      return { status: response.status, body: (text ? JSON.parse(text) : {}) as never };
    };
    for (const [account, clientId] of [
      ['rn-acme', 'rn-a1'],
      ['rn-acme', 'rn-a2'],
      ['rn-globex', 'rn-g1'],
    ] as const) {
      const device = await onlineSimulatedDevice(fixture, clientId, account);
      clients.push(device.client);
      accountIds[account] = device.request.accountId;
      inbox[clientId] = await RenewInbox.open(device.client, account, clientId, fixture.rootPem);
      await birthRecorded(api, clientId);
    }
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.endAsync(true)));
    await fixture?.close();
  });

  it('Should tell one device only, with a signed command carrying renew.within.seconds and the reason', async () => {
    const answer = await api<Renewal>('POST', '/certificate-renewals', { clientId: 'rn-a1', withinSeconds: 3600, reason: 'key compromise' });
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    assert.equal(answer.body.devicesTold, 1);
    assert.equal(answer.body.withinSeconds, 3600);
    const told = await inbox['rn-a1']!.nth(1);
    assert.deepEqual(told, {
      topic: '$EDC/rn-acme/rn-a1/CERT-V1/PUT/renew',
      requestId: answer.body.renewalId,
      withinSeconds: 3600,
      message: 'key compromise',
    });
  });

  it('Should send exactly the metrics and body fields docs/PROTOCOL.md §13 "Renew now" lists', async () => {
    const markdown = await readFile(new URL('../docs/PROTOCOL.md', import.meta.url), 'utf8');
    const documented = (headerStart: string): string[] => {
      const tables = findTables(markdown, headerStart).filter((table) => table.section.startsWith('13.'));
      assert.equal(tables.length, 1, `one "${headerStart}" table in §13`);
      return tables[0]!.rows.flatMap((row) => codeSpans(row[0]!)).sort();
    };
    await inbox['rn-a1']!.nth(1);
    const payload = JSON.parse(inbox['rn-a1']!.payloads[0]!.toString('utf8')) as {
      metrics: Record<string, unknown>;
      body: string;
    };
    assert.deepEqual(Object.keys(payload.metrics).sort(), documented('| Metric | Type | Meaning |'));
    assert.deepEqual(Object.keys(JSON.parse(Buffer.from(payload.body, 'base64').toString('utf8')) as object).sort(), documented('| Body field | Meaning |'));
  });

  it("Should tell every online device of an account and none of another account's", async () => {
    const answer = await api<Renewal>('POST', '/certificate-renewals', { accountId: accountIds['rn-acme'], withinSeconds: 3600 });
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    assert.equal(answer.body.devicesTold, 2);
    assert.equal((await inbox['rn-a1']!.nth(2)).requestId, answer.body.renewalId);
    // rn-a2's first command is this one: the one-device request before did not reach it.
    assert.deepEqual(await inbox['rn-a2']!.nth(1), {
      topic: '$EDC/rn-acme/rn-a2/CERT-V1/PUT/renew',
      requestId: answer.body.renewalId,
      withinSeconds: 3600,
      message: '',
    });
    // And rn-g1's first is the one for its own account: neither request for rn-acme reached it.
    const own = await api<Renewal>('POST', '/certificate-renewals', { accountId: accountIds['rn-globex'], withinSeconds: 3600 });
    assert.equal(own.body.devicesTold, 1);
    assert.equal((await inbox['rn-g1']!.nth(1)).requestId, own.body.renewalId);
    assert.equal(inbox['rn-a1']!.commands.length, 2);
    assert.equal(inbox['rn-a2']!.commands.length, 1);
  });

  it("Should let an account token tell its own devices and account only: another account's device is 404, another account 403", async () => {
    const token = (await api<{ token: string }>('POST', '/api-tokens', { accountId: accountIds['rn-acme'] })).body.token;
    const foreignDevice = await api<{ code: string }>('POST', '/certificate-renewals', { clientId: 'rn-g1', withinSeconds: 3600 }, token);
    assert.equal(foreignDevice.status, 404);
    assert.equal(foreignDevice.body.code, 'NOT_FOUND');
    const foreignAccount = await api<{ code: string }>('POST', '/certificate-renewals', { accountId: accountIds['rn-globex'], withinSeconds: 3600 }, token);
    assert.equal(foreignAccount.status, 403);
    assert.equal(foreignAccount.body.code, 'FORBIDDEN');
    const ownDevice = await api<Renewal>('POST', '/certificate-renewals', { clientId: 'rn-a2', withinSeconds: 3600, reason: 'CA rollover' }, token);
    assert.equal(ownDevice.status, 202);
    assert.equal((await inbox['rn-a2']!.nth(2)).requestId, ownDevice.body.renewalId);
    // The refusals told nobody: rn-g1's next command is a later one of its own account.
    const later = await api<Renewal>('POST', '/certificate-renewals', { clientId: 'rn-g1', withinSeconds: 3600 });
    assert.equal((await inbox['rn-g1']!.nth(2)).requestId, later.body.renewalId);
    const events = await api<{ items: { actor: string; clientId: string | null; detail: Record<string, unknown> }[] }>(
      'GET',
      `/audit-events?type=certificate.renewal-requested&clientId=rn-a2`,
    );
    const mine = events.body.items.find((event) => event.detail['renewalId'] === ownDevice.body.renewalId);
    assert.ok(mine, 'audited');
    assert.equal(mine.actor, token.split('.')[0]);
    assert.deepEqual(mine.detail, { renewalId: ownDevice.body.renewalId, target: 'device', devicesTold: 1, withinSeconds: 3600, reason: 'CA rollover' });
  });

  it('Should tell every online device of one category of an account, and no other device of it', async () => {
    const category = await api('POST', '/categories', { accountId: accountIds['rn-acme'], name: 'line-2' });
    assert.equal(category.status, 201, JSON.stringify(category.body));
    const a2 = await fixture.platform.store.getDevice(accountIds['rn-acme']!, 'rn-a2');
    assert.equal((await api('PATCH', `/devices/${a2!.id}`, { category: 'line-2' })).status, 200);
    const before = { a1: inbox['rn-a1']!.commands.length, a2: inbox['rn-a2']!.commands.length };
    const answer = await api<Renewal>('POST', '/certificate-renewals', { accountId: accountIds['rn-acme'], category: 'line-2', withinSeconds: 3600 });
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    assert.equal(answer.body.devicesTold, 1);
    assert.equal((await inbox['rn-a2']!.nth(before.a2 + 1)).requestId, answer.body.renewalId);
    // rn-a1's next command is a later one for the whole account: the category's did not reach it.
    const whole = await api<Renewal>('POST', '/certificate-renewals', { accountId: accountIds['rn-acme'], withinSeconds: 3600 });
    assert.equal((await inbox['rn-a1']!.nth(before.a1 + 1)).requestId, whole.body.renewalId);
    const unknown = await api<{ errors: { path: string }[] }>('POST', '/certificate-renewals', { accountId: accountIds['rn-acme'], category: 'no-such-line' });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.errors[0]?.path, 'body/category');
    const events = await api<{ items: { detail: Record<string, unknown> }[] }>(
      'GET',
      `/audit-events?type=certificate.renewal-requested&accountId=${accountIds['rn-acme']}`,
    );
    assert.deepEqual(events.body.items.find((event) => event.detail['renewalId'] === answer.body.renewalId)?.detail, {
      renewalId: answer.body.renewalId,
      target: 'category',
      category: 'line-2',
      devicesTold: 1,
      withinSeconds: 3600,
      reason: '',
    });
  });

  it('Should answer bad requests with problem bodies, and an offline device with devicesTold 0', async () => {
    for (const [body, path] of [
      [{}, 'body'],
      [{ clientId: 'rn-a1', accountId: accountIds['rn-acme'] }, 'body'],
      [{ clientId: 'rn-a1', withinSeconds: 86_401 }, 'body/withinSeconds'],
      [{ clientId: 'rn-a1', withinSeconds: -1 }, 'body/withinSeconds'],
      [{ clientId: 'rn-a1', reason: 'x'.repeat(257) }, 'body/reason'],
      [{ clientId: 'rn-a1', reason: 'line\nbreak' }, 'body/reason'],
      [{ clientId: 'rn-a1', category: 'meters' }, 'body/category'],
    ] as const) {
      const answer = await api<{ code: string; errors: { path: string }[] }>('POST', '/certificate-renewals', body);
      assert.equal(answer.status, 400, JSON.stringify(body));
      assert.equal(answer.body.code, 'VALIDATION_FAILED');
      assert.equal(answer.body.errors[0]?.path, path, JSON.stringify(answer.body));
    }
    assert.equal((await api('POST', '/certificate-renewals', { clientId: 'rn-nobody' })).status, 404);
    assert.equal((await api('POST', '/certificate-renewals', { accountId: 'no-such-account' })).status, 404);
    const g1 = clients[2]!;
    await g1.endAsync();
    for (let attempt = 0; ; attempt += 1) {
      const device = await fixture.platform.store.getDevice(accountIds['rn-globex']!, 'rn-g1');
      if (device && !device.online) break;
      assert.ok(attempt < 200, 'rn-g1 recorded offline');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const offline = await api<Renewal>('POST', '/certificate-renewals', { clientId: 'rn-g1' });
    assert.equal(offline.status, 202);
    assert.deepEqual({ devicesTold: offline.body.devicesTold, withinSeconds: offline.body.withinSeconds }, { devicesTold: 0, withinSeconds: 300 });
  });

  it('Should make agent-sim renew its certificate when told to (withinSeconds 0), long before its renewal window', async () => {
    const request = await createAccountAndRequest(fixture, 'rn-agent', { account: 'rn-acme' });
    const dir = await mkdtemp(join(tmpdir(), 'provisio-device-'));
    try {
      await writeFile(join(dir, 'root.pem'), fixture.rootPem);
      // Certificates of the default validity (365 days): without the command the agent would not renew within its 60 s.
      // agent-sim prints its summary as the last line with --json.
      const run = runAgentSimCli([
        'device',
        ...[
          '--state-dir',
          join(dir, 'state'),
          '--root-ca',
          join(dir, 'root.pem'),
          '--broker-url',
          `mqtts://localhost:${fixture.platform.provisionBroker.mqttsPort}`,
        ],
        ...['--client-id', 'rn-agent', '--username', request.username, '--password', request.password, '--timeout', '5000', '--retry-interval', '300'],
        ...['--renewals', '1', '--stay-online', '60', '--json'],
      ]);
      await birthRecorded(api, 'rn-agent');
      const [first] = (await api<{ items: { serial: string }[] }>('GET', '/certificates?clientId=rn-agent')).body.items;
      assert.ok(first);
      const answer = await api<Renewal>('POST', '/certificate-renewals', { clientId: 'rn-agent', withinSeconds: 0, reason: 'key compromise' });
      assert.equal(answer.body.devicesTold, 1);
      const { code, stdout, stderr } = await run;
      assert.equal(code, 0, `${stdout}\n${stderr}`);
      const summary = JSON.parse(stdout.trim().split('\n').pop()!) as { renewals: { renewed: number } };
      assert.equal(summary.renewals.renewed, 1);
      // The old certificate is revoked once the new one connected (a moment after its CONNACK).
      for (let attempt = 0; ; attempt += 1) {
        const issued = (await api<{ items: { serial: string; status: string }[] }>('GET', '/certificates?clientId=rn-agent')).body.items;
        const old = issued.find((certificate) => certificate.serial === first.serial);
        if (issued.length === 2 && old?.status === 'REVOKED') break;
        assert.ok(attempt < 100, `after the renewal: ${JSON.stringify(issued)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('renew now on a two-broker cluster on Redis', () => {
  let redis: RedisServer | null;
  let cluster: Cluster | undefined;
  let rootPem: string;
  const stateDirs: string[] = [];
  const clients: MqttClient[] = [];

  before(async () => {
    redis = await startRedisOrSkip();
    if (!redis) return;
    cluster = await startCluster({ redisUrl: redis.url, brokers: 2, provisioners: 1, accountBrokerIndex: 0 });
    rootPem = await readFile(cluster.rootCaFile, 'utf8');
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.endAsync(true)));
    await cluster?.close();
    await redis?.stop();
    await Promise.all(stateDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  /** Provisioned by agent-sim through broker-1's provision listener, online where the account sends it. */
  async function online(accountId: string, clientId: string): Promise<MqttClient> {
    const created = await cluster!.api<{ credentials: { username: string; password: string } }>('POST', '/provision-requests', { accountId, clientId });
    assert.equal(created.status, 201, created.text);
    const dir = await mkdtemp(join(tmpdir(), 'provisio-device-'));
    stateDirs.push(dir);
    const state = new DeviceState(dir);
    await state.initialise(
      {
        ...defaultSettings,
        'broker-url': cluster!.provisionUrls[0]!,
        'client-id': clientId,
        username: created.body.credentials.username,
        password: created.body.credentials.password,
        mac: clientId,
        serial: 'SN-1',
        timeout: 10_000,
        'retry-interval': 300,
      },
      rootPem,
    );
    const result = await runDevice(state);
    if (result.status !== 'online') throw new Error(`${clientId}: ${result.status === 'failed' ? result.reason : result.status}\n${cluster!.logs()}`);
    clients.push(result.accountClient);
    return result.accountClient;
  }

  it('Should reach the devices of one account on both broker processes from a request made on the API process', async (t) => {
    if (!cluster) return t.skip('redis-server is not installed');
    const api: Api = async (method, path, body) => cluster!.api(method, path, body);
    const broker2Port = Number(cluster.byName('broker-2').endpoints['accountMqtts']);
    // The account first sends its devices to broker-2, then (brokerUrl null) to the platform's, broker-1.
    const account = await cluster.api<{ id: string; version: number }>('POST', '/accounts', {
      name: 'rn-split',
      brokerUrl: `mqtts://localhost:${broker2Port}`,
    });
    assert.equal(account.status, 201, account.text);
    const onBroker2 = await online(account.body.id, 'rn-on-2');
    assert.equal(Number(onBroker2.options.port), broker2Port, 'online on broker-2');
    const patched = await cluster.api('PATCH', `/accounts/${account.body.id}`, { version: account.body.version, brokerUrl: null });
    assert.equal(patched.status, 200, patched.text);
    const onBroker1 = await online(account.body.id, 'rn-on-1');
    assert.equal(Number(onBroker1.options.port), Number(cluster.byName('broker-1').endpoints['accountMqtts']), 'online on broker-1');
    const inboxes = [await RenewInbox.open(onBroker1, 'rn-split', 'rn-on-1', rootPem), await RenewInbox.open(onBroker2, 'rn-split', 'rn-on-2', rootPem)];
    for (const clientId of ['rn-on-1', 'rn-on-2']) await birthRecorded(api, clientId);

    const answer = await cluster.api<Renewal>('POST', '/certificate-renewals', { accountId: account.body.id, withinSeconds: 3600, reason: 'CA rollover' });
    assert.equal(answer.status, 202, answer.text);
    assert.equal(answer.body.devicesTold, 2);
    for (const inbox of inboxes) {
      const told = await inbox.nth(1);
      assert.deepEqual(told, {
        topic: `$EDC/rn-split/${inbox.clientId}/CERT-V1/PUT/renew`,
        requestId: answer.body.renewalId,
        withinSeconds: 3600,
        message: 'CA rollover',
      });
    }
    // Once each: only the broker process holding a connection tells it. A second request's command is each device's second.
    const again = await cluster.api<Renewal>('POST', '/certificate-renewals', { clientId: 'rn-on-2', withinSeconds: 3600 });
    assert.equal((await inboxes[1]!.nth(2)).requestId, again.body.renewalId);
    assert.equal(inboxes[0]!.commands.length, 1);
  });
});
