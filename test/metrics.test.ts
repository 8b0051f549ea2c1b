import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCredentialsCsv, type DeviceCredentials } from '../agent-sim/credentials-source.ts';
import { runFleet } from '../agent-sim/fleet.ts';
import { connackOf, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { labelValuesOf, parseExposition, valueOf, type MetricFamilies } from './support/prometheus-text.ts';
import { eventually } from './support/security-kit.ts';

/**
 * Issue 17 §1, "done when" for the all-in-one: /metrics on the API port (to a global token) parses
 * as Prometheus text, and its counters move by what a 100-device rollout did: 100 provisioning
 * successes with their latencies, 100 certificates, completions and births, CONNECTs accepted on
 * both brokers, a refused one by its reason, the batch request by its route template; no label
 * value is a device's clientId. The cluster's processes: test/metrics-cluster.test.ts.
 */
const fleetSize = 100;

async function createCredentials(fixture: TestPlatform, prefix: string, count: number): Promise<DeviceCredentials[]> {
  const account = await fixture.api<{ id: string }>('POST', '/accounts', { name: `${prefix}-account` });
  assert.equal(account.status, 201);
  const requests = Array.from({ length: count }, (_, i) => ({ accountId: account.body.id, clientId: `${prefix}-${String(i).padStart(4, '0')}` }));
  const response = await fetch(`${fixture.apiUrl}/provision-requests/batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/json', accept: 'text/csv' },
    body: JSON.stringify({ requests }),
  });
  assert.equal(response.status, 201);
  return parseCredentialsCsv(await response.text());
}

describe('metrics of the all-in-one platform', () => {
  let fixture: TestPlatform;
  let workDir: string;
  let metricsUrl: string;

  const scrape = async (): Promise<MetricFamilies> => {
    const response = await fetch(metricsUrl, { headers: { authorization: `Bearer ${fixture.adminToken}` } });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return parseExposition(await response.text());
  };

  before(async () => {
    fixture = await startTestPlatform({ logLevel: 'warn' });
    metricsUrl = `http://127.0.0.1:${fixture.platform.http.port}/metrics`;
    workDir = await mkdtemp(join(tmpdir(), 'provisio-metrics-'));
  });
  after(async () => {
    await fixture.close();
    await rm(workDir, { recursive: true, force: true });
  });

  it('serves /metrics on the API port to a global token only (any scope), not to an account-bound one', async () => {
    assert.equal((await fetch(metricsUrl)).status, 401);
    assert.equal((await fetch(metricsUrl, { headers: { authorization: 'Bearer not-a-token' } })).status, 401);
    // A global read-only token is enough (Prometheus keeps no admin secret); one bound to an account is not: the counts cover every account.
    const globalRead = await fixture.api<{ token: string }>('POST', '/api-tokens', { scope: 'read', description: 'prometheus' });
    assert.equal(globalRead.status, 201);
    assert.equal((await fetch(metricsUrl, { headers: { authorization: `Bearer ${globalRead.body.token}` } })).status, 200);
    const account = await fixture.api<{ id: string }>('POST', '/accounts', { name: 'metrics-reader' });
    const accountRead = await fixture.api<{ token: string }>('POST', '/api-tokens', { accountId: account.body.id, scope: 'admin' });
    assert.equal(accountRead.status, 201);
    assert.equal((await fetch(metricsUrl, { headers: { authorization: `Bearer ${accountRead.body.token}` } })).status, 403);
    const families = await scrape();
    // Process metrics (prom-client's default collectors) under the platform's prefix.
    assert.ok(valueOf(families, 'provisio_process_cpu_user_seconds_total') > 0);
    assert.ok(families.has('provisio_nodejs_eventloop_lag_seconds'));
    for (const name of families.keys()) assert.match(name, /^provisio_/, 'one prefix for every metric');
    for (const family of families.values()) assert.ok(family.help.length > 0 && family.type !== 'untyped', `${family.name} has HELP and TYPE`);
  });

  it('counts what a 100-device rollout did', { timeout: 120_000 }, async () => {
    const before = await scrape();
    const credentials = await createCredentials(fixture, 'metrics', fleetSize);
    const refused = await connackOf(fixture.connectProvision({ clientId: 'metrics-0000', username: 'metrics-0000', password: 'wrong', reconnectPeriod: 0 }));
    assert.equal(refused, 4);

    let midway: Promise<MetricFamilies> | undefined;
    const summary = await runFleet({
      credentials,
      concurrency: 25,
      brokerUrl: `mqtts://localhost:${fixture.platform.provisionBroker.mqttsPort}`,
      trustedRootPem: fixture.rootPem,
      stateRoot: join(workDir, 'devices'),
      settings: { timeout: 30_000, 'retry-interval': 500 },
      // Scraped while the rollout runs too: once half the devices are provisioned.
      onProgress: (provisioned) => {
        if (provisioned >= fleetSize / 2) midway ??= scrape();
      },
    });
    assert.deepEqual(summary.failuresByReason, {});
    assert.equal(summary.provisioned, fleetSize);
    assert.ok(midway, 'scraped during the rollout');
    const during =
      valueOf(await midway, 'provisio_provision_attempts_total', { outcome: 'success' }) -
      valueOf(before, 'provisio_provision_attempts_total', { outcome: 'success' });
    assert.ok(during >= fleetSize / 2 && during <= fleetSize, `${during} successes counted midway`);
    // Births are recorded by the birth handler after the device sent them: wait for the count.
    const moved = (after: MetricFamilies, name: string, labels: Record<string, string> = {}): number =>
      valueOf(after, name, labels) - valueOf(before, name, labels);
    const after = await eventually(scrape, (families) => moved(families, 'provisio_device_births_total') >= fleetSize, 'births counted');

    assert.equal(moved(after, 'provisio_device_births_total'), fleetSize);
    assert.equal(moved(after, 'provisio_provision_attempts_total', { outcome: 'success' }), fleetSize);
    assert.equal(moved(after, 'provisio_provision_replies_total', { message: 'provision', code: '200' }), fleetSize);
    assert.equal(moved(after, 'provisio_provision_completions_total'), fleetSize);
    assert.equal(moved(after, 'provisio_provision_replies_total', { message: 'complete', code: '200' }), fleetSize);
    assert.equal(moved(after, 'provisio_certificates_issued_total'), fleetSize);
    assert.equal(moved(after, 'provisio_provision_attempt_duration_seconds_count', { result: 'success' }), fleetSize);
    assert.equal(moved(after, 'provisio_provision_attempt_duration_seconds_bucket', { result: 'success', le: '+Inf' }), fleetSize);
    // Each device connects to the provision broker (at least once) and to the account broker.
    assert.ok(moved(after, 'provisio_broker_connects_accepted_total', { broker: 'provision' }) >= fleetSize);
    assert.ok(moved(after, 'provisio_broker_connects_accepted_total', { broker: 'account' }) >= fleetSize);
    assert.equal(moved(after, 'provisio_broker_connects_refused_total', { broker: 'provision', reason: 'CONNECT_BAD_CREDENTIALS' }), 1);
    // The devices have left: nobody is connected (the gauge is read from the brokers at the scrape).
    assert.equal(valueOf(after, 'provisio_broker_connected_clients', { broker: 'account' }), 0);
    assert.equal(after.get('provisio_broker_connected_clients')?.type, 'gauge');
    // The store was timed under its method names; the batch request under its route template.
    assert.ok(moved(after, 'provisio_store_call_duration_seconds_count', { method: 'findEnabledProvisionRequest', result: 'ok' }) >= fleetSize);
    assert.equal(moved(after, 'provisio_http_requests_total', { method: 'POST', route: '/api/v1/provision-requests/batch', status: '201' }), 1);
    assert.ok(moved(after, 'provisio_http_requests_total', { method: 'POST', route: '/api/v1/accounts', status: '201' }) >= 1);

    // No label value names a device: clientIds are unbounded, label values must not be.
    const values = [...labelValuesOf(after)];
    for (const { clientId } of credentials) assert.ok(!values.some((value) => value.includes(clientId)), `a label value holds ${clientId}`);
  });

  it('serves /metrics on a port of its own, without a token, when PROVISIO_METRICS_PORT is set (and not on the API port)', async () => {
    const separate = await startTestPlatform({ logLevel: 'warn', metricsPort: 0 });
    try {
      const url = separate.platform.endpoints['metrics'];
      assert.ok(url && !url.includes(`:${separate.platform.http.port}/`), url);
      const response = await fetch(url.replace('localhost', '127.0.0.1'));
      assert.equal(response.status, 200);
      assert.ok(valueOf(parseExposition(await response.text()), 'provisio_process_cpu_user_seconds_total') > 0);
      const onApiPort = await fetch(`http://127.0.0.1:${separate.platform.http.port}/metrics`, { headers: { authorization: `Bearer ${separate.adminToken}` } });
      assert.equal(onApiPort.status, 404);
    } finally {
      await separate.close();
    }
  });
});
