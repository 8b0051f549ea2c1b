/**
 * The store's share of provisioning one device, without sockets or crypto: the calls the broker,
 * the provisioner and the account broker make for one device's journey (CONNECT check, claim,
 * certificate, completion, device record, birth, audit events), 50 devices in flight, on the
 * embedded SQLite store in a temporary directory. CPU per device of this process, median of rounds
 * after a warm-up. A diagnostic for the end-to-end figure, steady where the end-to-end run is noisy.
 *
 *   tsx bench/store-journey.ts [--devices 3000] [--rounds 5] [--json out.json]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hashSecret } from '../crypto/secret-hash.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { Account, ProvisionRequest, ProvisionStore } from '../store/types.ts';
import { parseFlags } from './support/args.ts';
import { startRun, writeResult } from './support/output.ts';
import { median, round } from './support/stats.ts';
import { printTable } from './support/table.ts';

const flags = parseFlags('tsx bench/store-journey.ts: store CPU per device journey (SQLite)', {
  devices: { default: 3000, help: 'devices per round' },
  rounds: { default: 5, help: 'measured rounds' },
  warmup: { default: 1000, help: 'devices before the measured rounds' },
  concurrency: { default: 50, help: 'devices in flight' },
});

const actor = 'provisioner';

async function createRequests(store: ProvisionStore, account: Account, clientIds: readonly string[]): Promise<void> {
  const passwordHash = await hashSecret(randomBytes(24).toString('base64url'), 'generated');
  for (const clientId of clientIds) {
    await store.createProvisionRequest({
      accountId: account.id,
      clientId,
      username: clientId,
      passwordHash,
      activationKeyHash: null,
      activatesOn: 0,
      expiresOn: Date.now() + 86_400_000,
      retryMaxAttempts: 5,
      overwriteIfDuplicate: false,
      status: 'ENABLED',
      configurationId: null,
      bundleIds: [],
      createdBy: 'bench',
    });
  }
}

/** The store calls of one device, in the order the platform makes them. */
async function journey(store: ProvisionStore, account: Account, clientId: string): Promise<void> {
  const about = (request: ProvisionRequest) => ({ actor, accountId: account.id, clientId, provisionRequestId: request.id });
  // Provision broker CONNECT, then the provisioner's attempt.
  await store.findEnabledProvisionRequest(clientId);
  let request = await store.findEnabledProvisionRequest(clientId);
  if (!request) throw new Error(`no request for ${clientId}`);
  await store.getAccount(account.id);
  request = await store.updateProvisionRequest(request.id, request.version, {
    currentRequestId: 'r1',
    certificateSerial: null,
    retryCount: 1,
    jobStatus: 'STARTED',
    modifiedBy: actor,
  });
  await store.appendAudit({ ...about(request), type: 'provision.started', outcome: 'success', detail: { requestId: 'r1' } });
  const serial = randomBytes(16).toString('hex');
  await store.recordCertificate({
    serial,
    accountId: account.id,
    clientId,
    provisionRequestId: request.id,
    pem: 'x'.repeat(700),
    notBefore: 0,
    notAfter: Date.now() + 86_400_000,
  });
  request = await store.updateProvisionRequest(request.id, request.version, { certificateSerial: serial, jobStatus: 'RUNNING', modifiedBy: actor });
  await store.appendAudit({ ...about(request), type: 'certificate.issued', outcome: 'success', detail: { serial, fromCsr: true } });
  // Completion.
  request = await store.findEnabledProvisionRequest(clientId);
  if (!request) throw new Error(`request of ${clientId} lost`);
  await store.getAccount(account.id);
  await store.updateProvisionRequest(request.id, request.version, { jobStatus: 'COMPLETED', status: 'DISABLED', modifiedBy: actor });
  await store.appendAudit({ ...about(request), type: 'provision.conf_updated', outcome: 'success', detail: { reportedHash: 'h', expectedHash: 'h' } });
  await store.appendAudit({ ...about(request), type: 'provision.apps_installed', outcome: 'success', detail: { installed: [] } });
  await store.listCertificates({ clientId, status: 'VALID', limit: 1000 });
  await store.upsertDevice(account.id, clientId, { certificateSerial: serial, expectedConfigurationHash: 'h', provisionedOn: Date.now() });
  await store.appendAudit({ ...about(request), type: 'provision.completed', outcome: 'success', detail: { serial } });
  // Account broker CONNECT and the birth message.
  await store.getCertificate(serial);
  await store.getAccount(account.id);
  await store.getAccountByName(account.name);
  await store.upsertDevice(account.id, clientId, { online: true, lastBirthOn: Date.now(), lastSeenOn: Date.now(), reportedConfigurationHash: 'h' });
  await store.appendAudit({
    type: 'device.birth',
    outcome: 'success',
    actor: clientId,
    accountId: account.id,
    clientId,
    provisionRequestId: null,
    detail: { configurationHash: 'h' },
  });
}

async function runDevices(store: ProvisionStore, account: Account, clientIds: readonly string[]): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < clientIds.length) await journey(store, account, clientIds[next++] as string);
  };
  await Promise.all(Array.from({ length: flags.concurrency }, lane));
}

async function main(): Promise<void> {
  const context = startRun();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'provisio-bench-store-'));
  const store = openSqliteStore(path.join(dir, 'provisio.db'));
  try {
    const account = await store.createAccount({ name: 'bench-store', brokerUrl: null, configurationTemplate: {}, defaultBundleIds: [] });
    let serial = 0;
    const nextIds = (count: number) => Array.from({ length: count }, () => `bench-store-${serial++}`);
    const warmup = nextIds(flags.warmup);
    await createRequests(store, account, warmup);
    await runDevices(store, account, warmup);
    const rounds: { cpuMsPerDevice: number; wallMsPerDevice: number }[] = [];
    for (let r = 1; r <= flags.rounds; r++) {
      const clientIds = nextIds(flags.devices);
      await createRequests(store, account, clientIds);
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      await runDevices(store, account, clientIds);
      const cpu = process.cpuUsage(cpuBefore);
      rounds.push({ cpuMsPerDevice: (cpu.user + cpu.system) / 1000 / clientIds.length, wallMsPerDevice: (performance.now() - started) / clientIds.length });
      process.stdout.write(`  round ${r}: ${round(rounds[rounds.length - 1]?.cpuMsPerDevice ?? 0)} ms CPU/device\n`);
    }
    const result = {
      cpuMsPerDevice: round(median(rounds.map((x) => x.cpuMsPerDevice))),
      wallMsPerDevice: round(median(rounds.map((x) => x.wallMsPerDevice))),
      rounds,
    };
    printTable(`Store calls of one device's journey, SQLite (${flags.rounds} rounds of ${flags.devices}, ${flags.concurrency} in flight)`, [
      { 'CPU ms/device': result.cpuMsPerDevice, 'wall ms/device': result.wallMsPerDevice, rounds: rounds.map((x) => round(x.cpuMsPerDevice)).join(' ') },
    ]);
    await writeResult(flags.json, context, {
      benchmark: 'store-journey',
      parameters: { ...flags, json: undefined },
      results: result,
      targets: [],
      notes: ['In-process: the SQLite store alone, 20 calls per device (7 of them audit events); no sockets, TLS or certificates.'],
    });
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
