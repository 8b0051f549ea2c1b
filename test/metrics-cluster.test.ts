import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCredentialsCsv } from '../agent-sim/credentials-source.ts';
import { runFleet } from '../agent-sim/fleet.ts';
import { startCluster, type Cluster, type ClusterProcess } from '../dev-support/cluster.ts';
import { startRedisOrSkip, type RedisServer } from '../dev-support/redis-server.ts';
import { labelValuesOf, parseExposition, valueOf, type MetricFamilies } from './support/prometheus-text.ts';
import { eventually } from './support/security-kit.ts';

/**
 * Issue 17 §1, "done when" for a cluster: every process (API, broker, provisioner) serves
 * /metrics on its health port without a token, it parses as Prometheus text, and each one's
 * counters move by what a 100-device rollout did there; the provisioner reports the provision
 * stream's length and pending entries. (The all-in-one: test/metrics.test.ts.)
 */
const fleetSize = 100;

async function scrape(process: ClusterProcess): Promise<MetricFamilies> {
  const response = await fetch(`http://127.0.0.1:${process.endpoints['health']}/metrics`);
  assert.equal(response.status, 200, process.name);
  return parseExposition(await response.text());
}

describe('metrics of a cluster', { timeout: 120_000 }, () => {
  let redis: RedisServer | null = null;
  let cluster: Cluster | null = null;
  let workDir = '';

  before(async () => {
    redis = await startRedisOrSkip();
    if (!redis) return;
    workDir = await mkdtemp(join(tmpdir(), 'provisio-metrics-cluster-'));
    cluster = await startCluster({ redisUrl: redis.url, brokers: 1, provisioners: 1 });
  });
  after(async () => {
    await cluster?.close();
    await redis?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('serves /metrics on each health port, and the counters move as 100 devices are provisioned', async (t) => {
    if (!cluster) return t.skip('redis-server is not installed');
    const [api, broker, provisioner] = [cluster.byName('api'), cluster.byName('broker-1'), cluster.byName('provisioner-1')];
    const before = new Map<string, MetricFamilies>();
    for (const process of cluster.processes) before.set(process.name, await scrape(process));
    // Every process has the process metrics and the whole set of the platform's own, under one prefix.
    for (const [name, families] of before) {
      assert.ok(valueOf(families, 'provisio_process_cpu_user_seconds_total') > 0, name);
      assert.ok(families.has('provisio_provision_attempts_total') && families.has('provisio_broker_connects_accepted_total'), name);
    }
    // The stream gauges are read from Redis by the provisioner at each scrape (the group exists once it started).
    const streamFamilies = before.get(provisioner.name)!;
    assert.equal(streamFamilies.get('provisio_provision_stream_length')?.type, 'gauge');
    assert.equal(streamFamilies.get('provisio_provision_stream_pending')?.type, 'gauge');

    const account = await cluster.api<{ id: string }>('POST', '/accounts', { name: 'metrics-cluster' });
    assert.equal(account.status, 201, account.text);
    const requests = Array.from({ length: fleetSize }, (_, i) => ({ accountId: account.body.id, clientId: `mc-${String(i).padStart(4, '0')}` }));
    const created = await cluster.api('POST', '/provision-requests/batch', { requests }, 'text/csv');
    assert.equal(created.status, 201, created.text);
    const credentials = parseCredentialsCsv(created.text);
    const summary = await runFleet({
      credentials,
      concurrency: 25,
      brokerUrl: cluster.provisionUrls[0]!,
      trustedRootPem: await readFile(cluster.rootCaFile, 'utf8'),
      stateRoot: join(workDir, 'devices'),
      settings: { timeout: 15_000, 'retry-interval': 500 },
    });
    assert.deepEqual(summary.failuresByReason, {}, cluster.logs());
    assert.equal(summary.provisioned, fleetSize);

    const moved = (process: ClusterProcess, after: MetricFamilies, name: string, labels: Record<string, string> = {}): number =>
      valueOf(after, name, labels) - valueOf(before.get(process.name)!, name, labels);
    // The broker: the devices' CONNECTs on both of its listeners, and their births (its birth handler).
    const brokerAfter = await eventually(
      () => scrape(broker),
      (families) => moved(broker, families, 'provisio_device_births_total') >= fleetSize,
      'births counted on the broker',
    );
    assert.equal(moved(broker, brokerAfter, 'provisio_device_births_total'), fleetSize);
    assert.ok(moved(broker, brokerAfter, 'provisio_broker_connects_accepted_total', { broker: 'provision' }) >= fleetSize);
    assert.ok(moved(broker, brokerAfter, 'provisio_broker_connects_accepted_total', { broker: 'account' }) >= fleetSize);
    // The provisioner: attempts, replies, completions, certificates, their latencies, the store calls.
    // (The device has its reply before its entry is acknowledged: the last XACKs may come just after.)
    const provisionerAfter = await eventually(
      () => scrape(provisioner),
      (families) => valueOf(families, 'provisio_provision_stream_pending') === 0,
      'stream entries acknowledged',
    );
    assert.equal(moved(provisioner, provisionerAfter, 'provisio_provision_attempts_total', { outcome: 'success' }), fleetSize);
    assert.equal(moved(provisioner, provisionerAfter, 'provisio_provision_completions_total'), fleetSize);
    assert.equal(moved(provisioner, provisionerAfter, 'provisio_provision_replies_total', { message: 'provision', code: '200' }), fleetSize);
    assert.equal(moved(provisioner, provisionerAfter, 'provisio_certificates_issued_total'), fleetSize);
    assert.equal(moved(provisioner, provisionerAfter, 'provisio_provision_attempt_duration_seconds_count', { result: 'success' }), fleetSize);
    assert.ok(moved(provisioner, provisionerAfter, 'provisio_store_call_duration_seconds_count', { method: 'updateProvisionRequest' }) >= 2 * fleetSize);
    // Every message went through the stream (it holds them: trimmed only far beyond) and was acknowledged.
    assert.ok(valueOf(provisionerAfter, 'provisio_provision_stream_length') >= 2 * fleetSize);
    // The API: the batch request under its route template, on its health port too.
    const apiAfter = await scrape(api);
    assert.equal(moved(api, apiAfter, 'provisio_http_requests_total', { method: 'POST', route: '/api/v1/provision-requests/batch', status: '201' }), 1);

    for (const families of [brokerAfter, provisionerAfter, apiAfter]) {
      const values = [...labelValuesOf(families)];
      for (const { clientId } of credentials) assert.ok(!values.some((value) => value.includes(clientId)), `a label value holds ${clientId}`);
    }
  });
});
