import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCredentialsCsv } from '../agent-sim/credentials-source.ts';
import { runFleet } from '../agent-sim/fleet.ts';
import { startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { runAgentSimCli } from './support/agent-sim-cli.ts';

/** Creates `count` requests through the batch API and returns the credentials CSV it exports. */
async function createFleetCredentials(fixture: TestPlatform, prefix: string, count: number, activationKeys = false): Promise<string> {
  const account = await fixture.api<{ id: string }>('POST', '/accounts', { name: `${prefix}-account` });
  let csv = '';
  for (let start = 0; start < count; start += 1000) {
    const requests = Array.from({ length: Math.min(1000, count - start) }, (_, i) => ({
      accountId: account.body.id,
      clientId: `${prefix}-${String(start + i).padStart(5, '0')}`,
      generateActivationKey: activationKeys,
    }));
    const response = await fetch(`${fixture.apiUrl}/provision-requests/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/json', accept: 'text/csv' },
      body: JSON.stringify({ requests }),
    });
    assert.equal(response.status, 201);
    const text = await response.text();
    csv += start === 0 ? text : text.split('\n').slice(1).join('\n');
  }
  return csv;
}

describe('agent-sim fleet mode', () => {
  let fixture: TestPlatform;
  let workDir: string;
  before(async () => {
    fixture = await startTestPlatform({ logLevel: 'warn' });
    workDir = await mkdtemp(join(tmpdir(), 'provisio-fleet-'));
  });
  after(async () => {
    await fixture.close();
    await rm(workDir, { recursive: true, force: true });
  });

  it('provisions a fleet of 1,000 simulated devices with zero failures', async () => {
    const credentials = parseCredentialsCsv(await createFleetCredentials(fixture, 'fleet', 1000, true));
    assert.equal(credentials.length, 1000);
    assert.ok(credentials.every((c) => c.activationKey && c.activationKey.length === 32));
    const summary = await runFleet({
      credentials,
      concurrency: 50,
      brokerUrl: `mqtts://localhost:${fixture.platform.provisionBroker.mqttsPort}`,
      trustedRootPem: fixture.rootPem,
      stateRoot: join(workDir, 'library'),
      settings: { timeout: 30_000, 'retry-interval': 500 },
    });
    assert.deepEqual(summary.failuresByReason, {});
    assert.equal(summary.provisioned, 1000);
    assert.ok(summary.latencyMs.p99 >= summary.latencyMs.p50);
    const devices = await fixture.platform.store.listDevices({ limit: 0 });
    assert.ok(devices.total >= 1000);
    const valid = await fixture.platform.store.listCertificates({ status: 'VALID', limit: 0 });
    assert.equal(valid.total, 1000, 'one certificate per device, no orphans');
  });

  it('runs from the command line with a CSV of credentials and prints a JSON summary', async () => {
    const csvFile = join(workDir, 'credentials.csv');
    const rootFile = join(workDir, 'root.pem');
    await writeFile(csvFile, await createFleetCredentials(fixture, 'cli', 20));
    await writeFile(rootFile, fixture.rootPem);
    const result = await runAgentSimCli([
      'fleet',
      '--credentials',
      csvFile,
      '--root-ca',
      rootFile,
      '--broker-url',
      `mqtts://localhost:${fixture.platform.provisionBroker.mqttsPort}`,
      '--concurrency',
      '5',
      '--state-root',
      join(workDir, 'cli-state'),
      '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout) as { provisioned: number; failed: number; latencyMs: { p50: number } };
    assert.equal(summary.provisioned, 20);
    assert.equal(summary.failed, 0);

    // A fleet device's directory is a whole flash: restarted alone, it goes straight to its account broker.
    const restart = await runAgentSimCli(['device', '--state-dir', join(workDir, 'cli-state', 'cli-00007'), '--json']);
    assert.equal(restart.code, 0, restart.stderr + restart.stdout);
    const online = JSON.parse(restart.stdout) as { status: string; provisionedNow: boolean; clientId: string };
    assert.deepEqual([online.status, online.provisionedNow, online.clientId], ['online', false, 'cli-00007']);
  });

  it('runs one device from the command line, and a restart goes straight to the account broker', async () => {
    const csv = parseCredentialsCsv(await createFleetCredentials(fixture, 'single', 1));
    const device = csv[0]!;
    const rootFile = join(workDir, 'root.pem');
    await writeFile(rootFile, fixture.rootPem);
    const stateDir = join(workDir, 'single-device');
    const args = ['device', '--state-dir', stateDir, '--json'];
    const first = await runAgentSimCli([
      ...args,
      '--root-ca',
      rootFile,
      '--broker-url',
      `mqtts://localhost:${fixture.platform.provisionBroker.mqttsPort}`,
      '--client-id',
      device.clientId,
      '--username',
      device.username,
      '--password',
      device.password,
    ]);
    assert.equal(first.code, 0, first.stderr + first.stdout);
    assert.equal((JSON.parse(first.stdout) as { provisionedNow: boolean }).provisionedNow, true);
    const restart = await runAgentSimCli(args);
    assert.equal(restart.code, 0, restart.stderr + restart.stdout);
    assert.equal((JSON.parse(restart.stdout) as { provisionedNow: boolean }).provisionedNow, false);
  });

  it('Should explain a bad option instead of crashing', async () => {
    const result = await runAgentSimCli(['fleet', '--count', 'many']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /agent-sim:/);
  });
});
