import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { provisioningCodeUsername } from '../protocol/enrollment.ts';
import { runAgentSimCli } from './support/agent-sim-cli.ts';
import { issueFactoryCertificate, makeManufacturerCa, writeFactoryCredentialsDir, type FactoryCredentials } from './support/factory-certificates.ts';
import { connackOf, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { codeKeysOf, createAccount, createCode, factoryConnack } from './support/zero-touch-kit.ts';

/**
 * Issue 18's "done when", end to end over real TLS with the agent-sim command line, as an operator
 * and a device maker would run it: a manufacturer CA and an enrollment group registered over the
 * admin API, 200 factory devices provisioned with no request made for any of them, a blocked factory
 * certificate refused, 50 provisioning codes made, downloaded as CSV, typed into agent-sim devices
 * and REGISTERED, a used and an expired code refused, a guessing attack locked out, and a device
 * moved to another account by discovery after a factory reset.
 */

interface RequestView {
  readonly clientId: string;
  readonly category: string | null;
  readonly jobStatus: string;
  readonly createdBy: string;
  readonly username: string;
}

interface CodeView {
  readonly id: string;
  readonly status: string;
  readonly clientId: string | null;
  readonly category: string | null;
}

interface Page<T> {
  readonly items: T[];
  readonly total: number;
}

const fleetSize = 200;
const codeCount = 50;

describe('issue 18: zero-touch onboarding, done when', () => {
  let fixture: TestPlatform;
  let workDir: string;
  let rootFile: string;
  let brokerUrl: string;
  let acmeId: string;
  let otherId: string;
  let caId: string;
  const maker = makeManufacturerCa('Zero Touch Maker CA');
  const fleet: FactoryCredentials[] = Array.from({ length: fleetSize }, (_, index) =>
    issueFactoryCertificate(maker, `zt-${String(index).padStart(4, '0')}`, 0x1000 + index),
  );

  before(async () => {
    fixture = await startTestPlatform({ provisioningCodeFailuresPerMinute: 30 });
    workDir = await mkdtemp(join(tmpdir(), 'provisio-zero-touch-'));
    rootFile = join(workDir, 'root.pem');
    await writeFile(rootFile, fixture.rootPem);
    brokerUrl = `mqtts://localhost:${fixture.platform.provisionBroker.mqttsPort}`;
    acmeId = await createAccount(fixture, 'zt-acme', ['sensors', 'kiosks']);
    otherId = await createAccount(fixture, 'zt-other', ['moved']);
  });
  after(async () => {
    await fixture?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  const agentSim = async (args: readonly string[]) => {
    const run = await runAgentSimCli([...args, '--root-ca', rootFile, '--timeout', '20000', '--retry-interval', '500']);
    return { ...run, output: `${run.stdout}\n${run.stderr}` };
  };

  async function requestsOf(accountId: string): Promise<RequestView[]> {
    const page = await fixture.api<Page<RequestView>>('GET', `/provision-requests?accountId=${accountId}&limit=1000`);
    assert.equal(page.status, 200);
    return page.body.items;
  }

  it('registers a manufacturer CA and an enrollment group over the API; 200 factory devices provision into its account and category', async () => {
    const registered = await fixture.api<{ id: string; fingerprintSha256: string }>('POST', '/manufacturer-cas', {
      name: 'Zero Touch Maker',
      pem: maker.certPem,
    });
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    caId = registered.body.id;
    const group = await fixture.api<{ id: string }>('POST', '/enrollment-groups', {
      accountId: acmeId,
      name: 'sensors-2026',
      manufacturerCaId: caId,
      category: 'sensors',
      tags: ['factory'],
    });
    assert.equal(group.status, 201, JSON.stringify(group.body));
    assert.equal((await requestsOf(acmeId)).length, 0, 'no request exists before the devices come');

    const credentialsDir = await writeFactoryCredentialsDir(join(workDir, 'factory'), fleet);
    const run = await agentSim([
      'fleet',
      '--factory-credentials-dir',
      credentialsDir,
      '--broker-url',
      brokerUrl,
      '--state-root',
      join(workDir, 'fleet'),
      '--concurrency',
      '25',
    ]);
    assert.equal(run.code, 0, run.output.slice(-3000));

    const requests = await requestsOf(acmeId);
    assert.equal(requests.length, fleetSize);
    for (const request of requests) {
      assert.equal(request.jobStatus, 'COMPLETED', request.clientId);
      assert.equal(request.category, 'sensors', request.clientId);
      assert.equal(request.createdBy, `enrollment-group:${group.body.id}`);
    }
    assert.deepEqual(
      requests.map((request) => request.clientId).sort(),
      fleet.map((device) => device.clientId),
    );
    const devices = await fixture.api<Page<{ clientId: string; tags: string[] }>>('GET', `/devices?accountId=${acmeId}&category=sensors&limit=1000`);
    assert.equal(devices.body.total, fleetSize, 'every device is in the registry, in the group category');
    assert.ok(devices.body.items.every((device) => device.tags.includes('factory')));
  });

  it('refuses a blocked factory certificate with CONNACK 5, and says why in the audit log', async () => {
    const stolen = issueFactoryCertificate(maker, 'zt-stolen', 0x9999);
    assert.equal(await factoryConnack(fixture, stolen), 0, 'admitted before the block');
    const block = await fixture.api('POST', `/manufacturer-cas/${caId}/blocked-certificates`, { serial: '9999', reason: 'reported stolen' });
    assert.equal(block.status, 201, JSON.stringify(block.body));
    assert.equal(await factoryConnack(fixture, stolen), 5);
    const refusals = await fixture.api<Page<{ clientId: string; detail: { code?: string } }>>('GET', '/audit-events?type=connect.refused&limit=100');
    assert.ok(refusals.body.items.some((event) => event.clientId === 'zt-stolen' && event.detail.code === 'FACTORY_CERTIFICATE_BLOCKED'));
  });

  it('makes 50 codes downloaded as CSV; agent-sim devices given them register, and a used or expired code is refused', async () => {
    const response = await fetch(`${fixture.apiUrl}/provisioning-codes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/json', accept: 'text/csv' },
      body: JSON.stringify({ accountId: acmeId, category: 'kiosks', count: codeCount }),
    });
    assert.equal(response.status, 201);
    assert.match(response.headers.get('content-type') ?? '', /^text\/csv/);
    const csv = await response.text();
    const lines = csv.trimEnd().split(/\r?\n/);
    assert.equal(lines.length, codeCount + 1, 'a header and one line per code');
    const codesFile = join(workDir, 'codes.csv');
    await writeFile(codesFile, csv);

    const pending = await fixture.api<Page<CodeView>>('GET', `/provisioning-codes?accountId=${acmeId}&limit=100`);
    assert.equal(pending.body.total, codeCount);
    assert.ok(pending.body.items.every((code) => code.status === 'PENDING' && code.clientId === null));

    const run = await agentSim(['fleet', '--codes-file', codesFile, '--broker-url', brokerUrl, '--state-root', join(workDir, 'codes'), '--concurrency', '10']);
    assert.equal(run.code, 0, run.output.slice(-3000));

    const registered = await fixture.api<Page<CodeView>>('GET', `/provisioning-codes?accountId=${acmeId}&limit=100`);
    assert.equal(registered.body.total, codeCount);
    assert.ok(registered.body.items.every((code) => code.status === 'REGISTERED' && code.clientId !== null && code.category === 'kiosks'));
    const users = new Set(registered.body.items.map((code) => code.clientId));
    assert.equal(users.size, codeCount, 'each code registered a device of its own');
    const kiosks = (await requestsOf(acmeId)).filter((request) => request.category === 'kiosks');
    assert.equal(kiosks.length, codeCount);
    assert.ok(kiosks.every((request) => request.jobStatus === 'COMPLETED' && request.username === provisioningCodeUsername && users.has(request.clientId)));

    const usedCode = lines[1]!.split(',')[lines[0]!.split(',').indexOf('code')]!;
    assert.equal(
      await connackOf(fixture.connectProvision({ clientId: 'zt-reuser', username: provisioningCodeUsername, password: usedCode })),
      4,
      'a used code admits nobody',
    );
    const expired = await createCode(fixture.platform.store, await codeKeysOf(fixture), {
      accountId: acmeId,
      category: 'kiosks',
      expiresOn: Date.now() - 1000,
    });
    assert.equal(
      await connackOf(fixture.connectProvision({ clientId: 'zt-late', username: provisioningCodeUsername, password: expired.digits })),
      4,
      'an expired code admits nobody',
    );
  });

  it('moves a device to another account by discovery: after a factory reset it provisions where it is sent', async () => {
    const target = await fixture.api<{ id: string }>('POST', '/enrollment-groups', {
      accountId: otherId,
      name: 'moved-devices',
      manufacturerCaId: caId,
      category: 'moved',
    });
    assert.equal(target.status, 201, JSON.stringify(target.body));
    const moved = fleet[0]!;
    const assignment = await fixture.api('PUT', `/device-assignments/${moved.clientId}`, { enrollmentGroupId: target.body.id });
    assert.equal(assignment.status, 200, JSON.stringify(assignment.body));

    const discoveryUrl = `https://localhost:${fixture.platform.discoveryPort}`;
    // The same flash (state directory) as in the fleet; given its factory credentials and the discovery URL as the factory would have.
    const factoryFiles = [
      '--factory-cert',
      join(workDir, 'factory', `${moved.clientId}.crt`),
      '--factory-key',
      join(workDir, 'factory', `${moved.clientId}.key`),
    ];
    const run = await agentSim([
      'device',
      '--state-dir',
      join(workDir, 'fleet', moved.clientId),
      ...factoryFiles,
      '--factory-reset',
      '--discovery-url',
      discoveryUrl,
      '--retry-max-attempts',
      '2',
    ]);
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /factory-reset: removed/);
    assert.match(run.output, /discovery: .*account zt-other/);
    assert.match(run.output, new RegExp(`device ${moved.clientId} is online on .*\\(account zt-other\\)`));

    const there = (await requestsOf(otherId)).find((request) => request.clientId === moved.clientId);
    assert.equal(there?.jobStatus, 'COMPLETED');
    assert.equal(there?.category, 'moved');
    const device = await fixture.api<Page<{ clientId: string }>>('GET', `/devices?accountId=${otherId}&category=moved`);
    assert.deepEqual(
      device.body.items.map((item) => item.clientId),
      [moved.clientId],
    );
    const certificates = await fixture.api<Page<{ accountId: string; status: string }>>('GET', `/certificates?clientId=${moved.clientId}`);
    const valid = certificates.body.items.filter((certificate) => certificate.status === 'VALID');
    assert.deepEqual(
      valid.map((certificate) => certificate.accountId),
      [otherId],
      'only the certificate of its new account is valid',
    );
  });

  it('locks a code-guessing attack out: past the budget of wrong codes even a right code is refused with CONNACK 5', async () => {
    const made = await fixture.api<{ items: { code: string }[] }>('POST', '/provisioning-codes', { accountId: acmeId, category: 'kiosks', count: 1 });
    assert.equal(made.status, 201);
    const rightCode = made.body.items[0]!.code;
    const answers: number[] = [];
    for (let guess = 0; guess < 35; guess += 1) {
      const wrong = String(100_000_000_000 + guess * 7919);
      answers.push(await connackOf(fixture.connectProvision({ clientId: `guesser-${guess}`, username: provisioningCodeUsername, password: wrong })));
    }
    assert.ok(
      answers.slice(0, 25).every((code) => code === 4),
      `the first guesses are wrong codes: ${answers.join(',')}`,
    );
    assert.equal(answers.at(-1), 5, 'then the attacker is locked out');
    assert.equal(
      await connackOf(fixture.connectProvision({ clientId: 'honest-kiosk', username: provisioningCodeUsername, password: rightCode })),
      5,
      'a right code too',
    );
    const refusals = await fixture.api<Page<{ clientId: string; detail: { code?: string } }>>('GET', '/audit-events?type=connect.refused&limit=1000');
    assert.ok(refusals.body.items.some((event) => event.clientId === 'honest-kiosk' && event.detail.code === 'CONNECT_LOCKED_OUT'));
    assert.ok(!fixture.logText().includes(rightCode.replaceAll('-', '')), 'no code in the log');
  });
});
