import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startCluster, type Cluster } from '../dev-support/cluster.ts';
import { requireRedisOrSkip, startRedisOrSkip } from '../dev-support/redis-server.ts';
import { encodeBirth } from '../protocol/messages.ts';
import { birthTopic } from '../protocol/topics.ts';
import { openRedisStore } from '../store/redis/redis-store.ts';
import type { ProvisionStore } from '../store/types.ts';
import { newAccount, newCertificate, newRequest } from './store-contract/fixtures.ts';
import { connectAccount, provisionOverMqtt } from './support/wire-provisioning.ts';

const server = await startRedisOrSkip();
after(() => server?.stop());

/** Fleet sizes compared: what a device's own step costs Redis must not depend on them. */
const smallFleet = 50;
const largeFleet = 500;

/**
 * Issue 19 §4 (docs/CAPACITY.md): on Redis, the reads a device's own steps make must be answered
 * from per-device keys, not by reading every record of the store or of the account (before, the
 * completion's listCertificates({ clientId, status }) and the birth's
 * listProvisionRequests({ accountId, clientIds }) read them all, 1,000 at a time). The same step is
 * measured with the records of 50 and of 500 other devices in Redis: commands and bytes out of
 * Redis (INFO commandstats and stats) for the store's listings, and for a real device's onboarding
 * and birth on a cluster every command Redis saw (MONITOR) and the keys MGET read. They must agree
 * within a small constant; reading the fleet costs 450 records more at 500.
 */
describe('redis cost of one device does not grow with the fleet', () => {
  /** Adds devices (a request, a certificate and a registry record each) to the account until it has `count`. */
  async function seedFleet(store: ProvisionStore, accountId: string, from: number, count: number): Promise<void> {
    const clientIds = Array.from({ length: count - from }, (_, index) => `fleet-${from + index}`);
    const created = await store.createProvisionRequests(clientIds.map((clientId) => newRequest(accountId, { clientId, status: 'DISABLED' })));
    assert.ok(
      created.every((outcome) => outcome.ok),
      'every seed request created',
    );
    for (let start = 0; start < clientIds.length; start += 50) {
      await Promise.all(
        clientIds.slice(start, start + 50).map(async (clientId) => {
          await store.recordCertificate(newCertificate(accountId, { clientId }));
          await store.upsertDevice(accountId, clientId, { online: false });
        }),
      );
    }
  }

  /** Calls (every command but INFO) and bytes sent by Redis so far. */
  async function serverCounters(raw: Redis): Promise<{ calls: number; outputBytes: number }> {
    const commandstats = await raw.info('commandstats');
    const stats = await raw.info('stats');
    let calls = 0;
    for (const match of commandstats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (match[1] !== 'info') calls += Number(match[2]);
    return { calls, outputBytes: Number(/^total_net_output_bytes:(\d+)/m.exec(stats)?.[1] ?? NaN) };
  }

  it('listing one client’s VALID certificates and finding one client’s requests: same commands and bytes at 50 and 500 devices', async (t) => {
    if (!requireRedisOrSkip(t, server)) return;
    const store = await openRedisStore({ url: server.url, keyPrefix: `test:${randomUUID()}:` });
    const raw = new Redis(server.url);
    t.after(async () => {
      raw.disconnect();
      await store.close();
    });
    const account = await store.createAccount(newAccount());
    const device = 'measured-device';
    const request = await store.createProvisionRequest(newRequest(account.id, { clientId: device }));
    await store.updateProvisionRequest(request.id, 1, { modifiedBy: 'test', jobStatus: 'COMPLETED', status: 'DISABLED' });
    await store.recordCertificate(newCertificate(account.id, { clientId: device }));

    const reads = {
      'completion: the device’s VALID certificates': () => store.listCertificates({ clientId: device, status: 'VALID', limit: 1000 }),
      'birth: the device’s completed request in its account': () =>
        store.listProvisionRequests({ accountId: account.id, clientIds: [device], jobStatuses: ['COMPLETED'], limit: 1 }),
      'completion repeated: the device’s completed requests in every account': () =>
        store.listProvisionRequests({ clientIds: [device], jobStatuses: ['COMPLETED'], limit: 1000 }),
      'provisioning refused: any request of the device': () => store.listProvisionRequests({ clientIds: [device], limit: 1 }),
    };
    const measure = async (): Promise<Record<string, { calls: number; outputBytes: number; total: number }>> => {
      const costs: Record<string, { calls: number; outputBytes: number; total: number }> = {};
      for (const [name, read] of Object.entries(reads)) {
        await read(); // once before, so a one-time index check is not counted in either fleet
        const before = await serverCounters(raw);
        const page = await read();
        const afterRead = await serverCounters(raw);
        costs[name] = { calls: afterRead.calls - before.calls, outputBytes: afterRead.outputBytes - before.outputBytes, total: page.total };
      }
      return costs;
    };

    await seedFleet(store, account.id, 0, smallFleet);
    const small = await measure();
    await seedFleet(store, account.id, smallFleet, largeFleet);
    const large = await measure();
    for (const name of Object.keys(reads)) {
      const [s, l] = [small[name]!, large[name]!];
      const seen = `${name}: ${smallFleet} devices ${JSON.stringify(s)}, ${largeFleet} devices ${JSON.stringify(l)}`;
      assert.equal(l.total, s.total, `same answer: ${seen}`);
      assert.ok(s.total >= 1, `the device's record is found: ${seen}`);
      assert.ok(Math.abs(l.calls - s.calls) <= 1, `commands: ${seen}`);
      // The INFO replies themselves differ by a few bytes; one record is about 1 KB.
      assert.ok(Math.abs(l.outputBytes - s.outputBytes) <= 256, `bytes out of Redis: ${seen}`);
    }
  });

  it('a device’s onboarding and birth on a cluster: same Redis commands and keys read at 50 and 500 devices', { timeout: 180_000 }, async (t) => {
    if (!requireRedisOrSkip(t, server)) return;
    const cluster: Cluster = await startCluster({ redisUrl: server.url, brokers: 1, provisioners: 1 });
    const raw = new Redis(server.url);
    // monitor() answers a second connection; both are closed, or the process would wait on the first.
    const monitored = raw.duplicate();
    const monitor = await monitored.monitor();
    t.after(async () => {
      monitor.disconnect();
      monitored.disconnect();
      raw.disconnect();
      await cluster.close();
    });
    const ownAddress = /addr=(\S+)/.exec(String(await raw.call('CLIENT', 'INFO')))?.[1] ?? '';
    const rootPem = await readFile(cluster.rootCaFile, 'utf8');
    const accountUrl = `mqtts://localhost:${cluster.byName('broker-1').endpoints['accountMqtts']}`;
    const accountName = 'cost';
    const created = await cluster.api<{ id: string }>('POST', '/accounts', { name: accountName });
    assert.equal(created.status, 201, created.text);
    const accountId = created.body.id;

    /** What the platform asked of Redis while recording: commands (periodic ones and this test's own left out) and keys MGET read. */
    let recording: { commands: number; mgetKeys: number; lastAt: number; byName: Map<string, number> } | null = null;
    const periodic = /^(xreadgroup|xread|xautoclaim|xinfo|ping|info|client|select)$/;
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (!recording || source === ownAddress) return;
      const name = (args[0] ?? '').toLowerCase();
      if (periodic.test(name) || args.slice(1).some((arg) => /broker-heartbeats|webhooks|unsettled-renewals|pending-provisioning-codes/.test(arg))) return;
      recording.commands += 1;
      recording.byName.set(name, (recording.byName.get(name) ?? 0) + 1);
      if (name === 'mget') recording.mgetKeys += args.length - 1;
      recording.lastAt = Date.now();
    });
    /** Runs `step`, then records until Redis has been quiet (for this platform's device work) for 500 ms. */
    const recorded = async (step: () => Promise<unknown>) => {
      recording = { commands: 0, mgetKeys: 0, lastAt: Date.now(), byName: new Map() };
      await step();
      while (Date.now() - recording.lastAt < 500) await new Promise((resolve) => setTimeout(resolve, 100));
      const done = recording;
      recording = null;
      return { commands: done.commands, mgetKeys: done.mgetKeys, byName: Object.fromEntries(done.byName) };
    };

    const lifeOf = async (clientId: string) => {
      const request = await cluster.api<{ credentials: { username: string; password: string } }>('POST', '/provision-requests', { accountId, clientId });
      assert.equal(request.status, 201, request.text);
      let provisioned: Awaited<ReturnType<typeof provisionOverMqtt>> | undefined;
      const onboarding = await recorded(async () => {
        provisioned = await provisionOverMqtt({
          provisionUrl: cluster.provisionUrls[0]!,
          rootPem,
          clientId,
          ...request.body.credentials,
          requestId: `${clientId}-1`,
        });
      });
      const client = await connectAccount(accountUrl, rootPem, clientId, provisioned!);
      t.after(() => client.endAsync(true));
      const birth = await recorded(async () => {
        const sentAt = Date.now();
        await client.publishAsync(birthTopic(accountName, clientId), encodeBirth({ configurationHash: provisioned!.result.configuration.sha256 }), { qos: 1 });
        for (let waited = 0; ; waited += 50) {
          const json = await raw.get(`provisio:device:${accountId}:${clientId}`);
          const record = json ? (JSON.parse(json) as { online: boolean; lastBirthOn: number | null }) : null;
          if (record?.online && (record.lastBirthOn ?? 0) >= sentAt) return;
          assert.ok(waited < 10_000, `${clientId}: birth not recorded within 10 s\n${cluster.logs()}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      });
      return { onboarding, birth };
    };

    const seeder = await openRedisStore({ url: server.url, keyPrefix: 'provisio:' });
    await seedFleet(seeder, accountId, 0, smallFleet);
    await seeder.close();
    const small = await lifeOf('measured-1');
    const again = await openRedisStore({ url: server.url, keyPrefix: 'provisio:' });
    await seedFleet(again, accountId, smallFleet, largeFleet);
    await again.close();
    const large = await lifeOf('measured-2');

    for (const step of ['onboarding', 'birth'] as const) {
      const seen = `${step}: ${smallFleet} devices ${JSON.stringify(small[step])}, ${largeFleet} devices ${JSON.stringify(large[step])}`;
      t.diagnostic(seen);
      assert.ok(small[step].commands > 5, `the step was recorded: ${seen}`);
      assert.ok(Math.abs(large[step].mgetKeys - small[step].mgetKeys) <= 10, `keys read by MGET: ${seen}`);
      assert.ok(Math.abs(large[step].commands - small[step].commands) <= 10, `commands: ${seen}`);
    }
  });
});
