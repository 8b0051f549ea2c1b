import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { provisionStreamGroup, provisionStreamKey } from '../cluster/provision-stream.ts';
import { loadConfig } from '../config/config.ts';
import { openStore } from '../store/open-store.ts';
import type { ProvisionStore } from '../store/types.ts';
import { startCluster, type Cluster } from '../dev-support/cluster.ts';
import { startRedisOrSkip, type RedisServer } from '../dev-support/redis-server.ts';
import { assertOneValidCertificateEach, createRolloutCredentials, runSplitRollout, unfinishedRequests } from './support/cluster-rollout.ts';

/**
 * Issue 5, "Done when": a real redis-server (persistent, restartable), two broker processes and
 * two provisioner processes (and the API process), all separate. Devices are split across both
 * brokers: half list broker 1 first, half broker 2 first.
 */

async function eventually<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('cluster: two brokers and two provisioner workers on one Redis', { timeout: 240_000 }, () => {
  let redis: RedisServer | null = null;
  let cluster: Cluster | null = null;
  let store: ProvisionStore | null = null;
  let probe: Redis | null = null;
  let workDir = '';

  before(async () => {
    redis = await startRedisOrSkip({ persistent: true });
    if (!redis) return;
    workDir = await mkdtemp(join(tmpdir(), 'provisio-cluster-devices-'));
    // Devices go to broker 2's account listener: broker 1 is the one killed below.
    cluster = await startCluster({ redisUrl: redis.url, accountBrokerIndex: 1, env: { PROVISIO_PROVISION_STREAM_CLAIM_IDLE_MS: '3000' } });
    store = await openStore(loadConfig({}, { storeBackend: 'redis', redisUrl: redis.url, dataDir: cluster.dataDir }));
    probe = new Redis(redis.url, { maxRetriesPerRequest: null });
    probe.on('error', () => undefined); // down on purpose during the restart
  });

  after(async () => {
    probe?.disconnect();
    await store?.close().catch(() => undefined);
    await cluster?.close();
    await redis?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('answers /healthz and /readyz on every process', async (t) => {
    if (!cluster) return t.skip('redis-server is not installed');
    for (const process of cluster.processes) {
      const health = await fetch(`http://127.0.0.1:${process.endpoints['health']}/healthz`);
      assert.equal(health.status, 200, process.name);
      const ready = await eventually(
        `${process.name} ready`,
        async () => (await fetch(`http://127.0.0.1:${process.endpoints['health']}/readyz`)).status === 200,
      );
      assert.ok(ready);
    }
  });

  it('provisions 500 devices split across both brokers exactly once, through a kill -9 of a provisioner and a Redis restart', async (t) => {
    if (!cluster || !redis || !store || !probe) return t.skip('redis-server is not installed');
    const running = cluster;
    const server = redis;
    const credentials = (await createRolloutCredentials(running, 'scale', 'scale', 500)).credentials;
    assert.equal(credentials.length, 500);
    const disruptions: Record<string, number> = {};
    let disruption: Promise<void> = Promise.resolve();
    const { first, second } = await runSplitRollout(running, credentials, join(workDir, 'scale'), (provisioned) => {
      if (provisioned >= 100 && disruptions['provisioner killed'] === undefined) {
        disruptions['provisioner killed'] = provisioned;
        disruption = disruption.then(() => running.byName('provisioner-1').kill9());
      }
      if (provisioned >= 250 && disruptions['redis restarted'] === undefined) {
        disruptions['redis restarted'] = provisioned;
        // Down for a second and a half: long enough for every process to notice.
        disruption = disruption.then(() => server.restart!(() => new Promise((resolve) => setTimeout(resolve, 1500))));
      }
    });
    await disruption;
    const failures = { ...first.failuresByReason, ...second.failuresByReason };
    assert.deepEqual(failures, {}, `${await unfinishedRequests(store, credentials)}\n${running.logs()}`);
    assert.equal(first.provisioned + second.provisioned, 500);
    assert.ok((disruptions['provisioner killed'] ?? 500) < 500 && (disruptions['redis restarted'] ?? 500) < 500, JSON.stringify(disruptions));
    await assertOneValidCertificateEach(store, credentials);
    const completed = await store.listProvisionRequests({ clientIds: credentials.map((c) => c.clientId), jobStatuses: ['COMPLETED'], limit: 0 });
    assert.equal(completed.total, 500);
    // Every queued message was acknowledged in the end, including those the dead worker held.
    const key = provisionStreamKey(loadConfig({}).redisKeyPrefix);
    await eventually('no pending stream entries', async () => {
      const summary = (await probe!.xpending(key, provisionStreamGroup)) as [number, ...unknown[]];
      return summary[0] === 0;
    });
    t.diagnostic(
      `disruptions at provisioned counts: ${JSON.stringify(disruptions)}; ${first.devicesPerSecond.toFixed(1)} + ${second.devicesPerSecond.toFixed(1)} devices/s`,
    );
  });

  it('moves the devices of a broker killed with -9 to the other broker, and they finish', async (t) => {
    if (!cluster || !store) return t.skip('redis-server is not installed');
    const running = cluster;
    const credentials = (await createRolloutCredentials(running, 'failover', 'failover', 160)).credentials;
    let killedAt: number | undefined;
    let kill: Promise<void> = Promise.resolve();
    const { first, second } = await runSplitRollout(running, credentials, join(workDir, 'failover'), (provisioned) => {
      if (provisioned >= 30 && killedAt === undefined) {
        killedAt = provisioned;
        kill = running.byName('broker-1').kill9();
      }
    });
    await kill;
    assert.deepEqual({ ...first.failuresByReason, ...second.failuresByReason }, {}, running.logs());
    // The first half started on broker 1: most of it was still to do when broker 1 died.
    assert.equal(first.provisioned, 80);
    assert.equal(second.provisioned, 80);
    assert.ok(killedAt !== undefined && killedAt < 100, `broker 1 killed at ${killedAt}`);
    await assertOneValidCertificateEach(store, credentials);
  });
});
