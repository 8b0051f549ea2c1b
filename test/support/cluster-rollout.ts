import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCredentialsCsv, type DeviceCredentials } from '../../agent-sim/credentials-source.ts';
import { runFleet, type FleetSummary } from '../../agent-sim/fleet.ts';
import type { Cluster } from '../../dev-support/cluster.ts';
import type { ProvisionStore } from '../../store/types.ts';

/**
 * A rollout on the cluster of dev-support/cluster.ts, and the checks that it provisioned each
 * device exactly once, read from the store: for tests that disturb the cluster mid-rollout.
 */

/** ESF-style settings of each simulated device: bounded waits, patient retries. */
export const rolloutDeviceSettings = { timeout: 8000, 'retry-interval': 500, 'retry-max-attempts': 60 } as const;

/** An account and `count` provision requests `{prefix}-0000`…, created in one batch; the account and the credentials. */
export async function createRolloutCredentials(
  cluster: Cluster,
  accountName: string,
  prefix: string,
  count: number,
): Promise<{ accountId: string; credentials: DeviceCredentials[] }> {
  const account = await cluster.api<{ id: string }>('POST', '/accounts', { name: accountName });
  assert.equal(account.status, 201, account.text);
  const requests = Array.from({ length: count }, (_, i) => ({ accountId: account.body.id, clientId: `${prefix}-${String(i).padStart(4, '0')}` }));
  const created = await cluster.api('POST', '/provision-requests/batch', { requests }, 'text/csv');
  assert.equal(created.status, 201, created.text);
  return { accountId: account.body.id, credentials: parseCredentialsCsv(created.text) };
}

/**
 * Half the devices start on broker 1, half on broker 2, each listing the other as its fallback;
 * the second half lets the platform make its key (the stream must carry that it came over TLS).
 * onProgress gets the number provisioned so far, both halves together; `signal` (the test's) stops
 * the devices, so that a test timed out does not wait for them.
 */
export async function runSplitRollout(
  cluster: Cluster,
  credentials: readonly DeviceCredentials[],
  stateRoot: string,
  onProgress: (provisioned: number) => void,
  signal?: AbortSignal,
): Promise<{ first: FleetSummary; second: FleetSummary }> {
  const [url1, url2] = cluster.provisionUrls;
  const trustedRootPem = await readFile(cluster.rootCaFile, 'utf8');
  const half = Math.ceil(credentials.length / 2);
  const done = [0, 0];
  const fleet = (part: readonly DeviceCredentials[], brokerUrl: string, index: 0 | 1) =>
    runFleet({
      credentials: part,
      concurrency: 16,
      brokerUrl,
      trustedRootPem,
      stateRoot: join(stateRoot, String(index)),
      ...(signal ? { signal } : {}),
      settings: index === 0 ? rolloutDeviceSettings : { ...rolloutDeviceSettings, 'use-csr': false },
      onProgress: (provisioned) => {
        done[index] = provisioned;
        onProgress(done[0]! + done[1]!);
      },
    });
  const [first, second] = await Promise.all([fleet(credentials.slice(0, half), `${url1},${url2}`, 0), fleet(credentials.slice(half), `${url2},${url1}`, 1)]);
  return { first, second };
}

/** Exactly one VALID certificate per device, and none for anyone else of `credentials`. */
export async function assertOneValidCertificateEach(store: ProvisionStore, credentials: readonly DeviceCredentials[]): Promise<void> {
  const expected = new Set(credentials.map((c) => c.clientId));
  const perDevice = new Map<string, number>();
  for (let offset = 0; ; offset += 1000) {
    const page = await store.listCertificates({ status: 'VALID', limit: 1000, offset });
    for (const certificate of page.items) {
      if (expected.has(certificate.clientId)) perDevice.set(certificate.clientId, (perDevice.get(certificate.clientId) ?? 0) + 1);
    }
    if (page.items.length < 1000) break;
  }
  const duplicates = [...perDevice].filter(([, count]) => count > 1);
  const missing = [...expected].filter((clientId) => !perDevice.has(clientId));
  assert.deepEqual(duplicates, [], 'no device holds two valid certificates');
  assert.deepEqual(missing, [], 'every device holds a valid certificate');
}

/**
 * Every request of `credentials` COMPLETED, with exactly one provision.completed audit event each:
 * a completion repeated after a lost reply must not be recorded twice, nor one cut short never.
 */
export async function assertCompletedOnceEach(
  store: ProvisionStore,
  accountId: string,
  credentials: readonly DeviceCredentials[],
  /** Audit events a Redis failover may lose (written by the old master, never replicated; docs/OPERATIONS.md). */
  lostAuditEventsAllowed = 0,
): Promise<void> {
  const clientIds = credentials.map((c) => c.clientId);
  const completed = await store.listProvisionRequests({ clientIds, jobStatuses: ['COMPLETED'], limit: 0 });
  assert.equal(completed.total, credentials.length, `requests COMPLETED\n${await unfinishedRequests(store, credentials)}`);
  const completions = new Map<string, number>();
  for (let offset = 0; ; offset += 1000) {
    const page = await store.listAudit({ accountId, type: 'provision.completed', limit: 1000, offset });
    for (const event of page.items) {
      if (event.provisionRequestId) completions.set(event.provisionRequestId, (completions.get(event.provisionRequestId) ?? 0) + 1);
    }
    if (page.items.length < 1000) break;
  }
  const counts = [...completions.values()];
  assert.ok(
    completions.size <= credentials.length && completions.size >= credentials.length - lostAuditEventsAllowed,
    `a provision.completed event for every request (${completions.size} of ${credentials.length}, at most ${lostAuditEventsAllowed} lost)`,
  );
  assert.deepEqual(
    counts.filter((count) => count !== 1),
    [],
    'one provision.completed event per request',
  );
  const devices = await store.listDevices({ accountId, limit: 0 });
  assert.equal(devices.total, credentials.length, 'one registry entry per device');
}

/** For a failure message: the requests that did not complete, with their audit trail. */
export async function unfinishedRequests(store: ProvisionStore, credentials: readonly DeviceCredentials[]): Promise<string> {
  const page = await store.listProvisionRequests({ clientIds: credentials.map((c) => c.clientId), limit: 1000 });
  const unfinished = page.items.filter((request) => request.jobStatus !== 'COMPLETED').slice(0, 5);
  const lines = [];
  for (const request of unfinished) {
    const audit = await store.listAudit({ provisionRequestId: request.id, limit: 100 });
    lines.push(
      `${request.clientId} ${request.jobStatus} retryCount=${request.retryCount} currentRequestId=${request.currentRequestId}: ` +
        audit.items.map((event) => `${new Date(event.time).toISOString().slice(17, 23)} ${event.type} ${JSON.stringify(event.detail)}`).join(' | '),
    );
  }
  return lines.join('\n');
}
