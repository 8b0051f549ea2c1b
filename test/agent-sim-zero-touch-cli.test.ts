import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../agent-sim/cli.ts';
import { codeDeviceClientId } from '../agent-sim/provisioning-codes.ts';
import { opensslSkip, removeTemporaryDirectories, temporaryDirectory } from './support/ca-test-kit.ts';
import { runAgentSimCli } from './support/agent-sim-cli.ts';
import {
  factoryCertificate,
  issue,
  makePki,
  startDiscovery,
  startProvisionBroker,
  type PemFiles,
  type TestDiscovery,
  type TestPki,
  type TestProvisionBroker,
} from './support/agent-sim-zero-touch-kit.ts';

/**
 * agent-sim's zero-touch options (issue 18) as a person types them, against a stand-in cloud
 * discovery (mutual TLS) and a stand-in provision broker that records each CONNECT and refuses it
 * (the platform's side is tested with the platform): which clientId, user name, password and
 * client certificate a device sends, which broker it goes to, what it prints, and the usage errors.
 * Each run allows one attempt (--retry-max-attempts 1), so a refused CONNECT ends it at once.
 */

/**
 * agent-sim's main() in this process, what it writes to standard error captured: a usage error
 * ends it before any device runs, and a process per case would cost a second of start-up each.
 */
async function runMain(args: readonly string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await main(args), stderr };
  } finally {
    process.stderr.write = write;
  }
}

/** Settings that make a run short: one attempt, no waiting. */
const quick = ['--retry-max-attempts', '1', '--retry-interval', '0', '--timeout', '5000'];

describe('agent-sim zero-touch: command line', { skip: opensslSkip }, () => {
  let directory: string;
  let pki: TestPki;
  let broker: TestProvisionBroker;
  let discovery: TestDiscovery;
  let device: PemFiles;
  let standardAnswer: TestDiscovery['respond'];
  before(async () => {
    directory = await temporaryDirectory('agent-sim-zero-touch-cli-');
    pki = await makePki(directory);
    broker = await startProvisionBroker(pki);
    discovery = await startDiscovery(pki, () => broker.url);
    standardAnswer = discovery.respond;
    device = await factoryCertificate(directory, pki.manufacturer, '/O=Acme/CN=02:aa:bb:cc:dd:10', 'device-10');
  });
  after(async () => {
    await discovery.close();
    await broker.close();
    await removeTemporaryDirectories();
  });

  /** Clears what the stand-ins saw and restores their answers. */
  function fresh(): void {
    broker.connects.length = 0;
    broker.returnCode = 5;
    discovery.calls.length = 0;
    discovery.respond = standardAnswer;
  }

  it('Should list every zero-touch option in --help', async () => {
    const help = await runAgentSimCli(['--help']);
    assert.equal(help.code, 0);
    for (const option of [
      '--factory-cert FILE --factory-key FILE',
      '--factory-credentials-dir DIR',
      '--code CODE',
      '--codes-file FILE',
      '--discovery-url',
      '--factory-reset',
    ]) {
      assert.ok(help.stdout.includes(option), option);
    }
  });

  it('Should refuse bad combinations with a usage error (exit 2) before anything runs', async () => {
    const state = join(directory, 'usage-device');
    const factory = ['--factory-cert', device.certFile, '--factory-key', device.keyFile, '--root-ca', pki.root.certFile];
    const cases: [string[], RegExp][] = [
      [['device', '--state-dir', state, '--code', '1234-5678-9012', ...factory], /three ways to meet the provision broker: give one/],
      [['device', '--state-dir', state, '--password', 'p', ...factory], /three ways/],
      [['device', '--state-dir', state, '--factory-cert', device.certFile, '--root-ca', pki.root.certFile], /--factory-cert and --factory-key go together/],
      [['device', '--state-dir', state, '--code', '1234-5678', '--root-ca', pki.root.certFile], /a provisioning code is 12 digits/],
      [['device', '--state-dir', state, '--code', '1234-5678-9012', '--username', 'u', '--root-ca', pki.root.certFile], /the user name is provisioning-code/],
      [['device', '--state-dir', state, ...factory, '--client-id', 'other'], /is its CN, 02:aa:bb:cc:dd:10/],
      [['device', '--state-dir', state, ...factory, '--broker-url', 'mqtt://localhost:1883'], /needs mqtts:\/\/ provision brokers/],
      [['device', '--state-dir', state, ...factory, '--discovery-url', 'http://localhost:1'], /discovery is asked over mutual TLS, https/],
      [
        ['device', '--state-dir', state, '--password', 'p', '--root-ca', pki.root.certFile, '--discovery-url', 'https://localhost:1'],
        /--discovery-url needs --factory-cert/,
      ],
      [['device', '--state-dir', state, '--discovery-url', 'https://localhost:1'], /--discovery-url is set when the device is made/],
      [['device', '--state-dir', state, '--codes-file', 'codes.csv'], /--codes-file is for a fleet/],
      [['device', '--state-dir', state], /a new device needs --root-ca and one of --password, --factory-cert with --factory-key, or --code/],
      [
        ['fleet', '--credentials', 'a.csv', '--codes-file', 'b.csv', '--root-ca', pki.root.certFile],
        /fleet needs one of --credentials, --factory-credentials-dir and --codes-file/,
      ],
      [['fleet', '--code', '1234-5678-9012', '--root-ca', pki.root.certFile], /--codes-file FILE/],
      [['fleet', ...factory], /--factory-credentials-dir DIR/],
      [
        ['fleet', '--credentials', 'a.csv', '--root-ca', pki.root.certFile, '--discovery-url', 'https://localhost:1'],
        /--discovery-url needs --factory-credentials-dir/,
      ],
    ];
    for (const [args, message] of cases) {
      const run = await runMain(args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message, args.join(' '));
    }
    const spawned = await runAgentSimCli(cases[0]![0]);
    assert.deepEqual({ code: spawned.code, stdout: spawned.stdout }, { code: 2, stdout: '' }, 'the same from the command itself');
    assert.match(spawned.stderr, cases[0]![1]);
    await assert.rejects(readdir(state), { code: 'ENOENT' }, 'no device was made');
  });

  it('Should ask discovery with the factory certificate and CONNECT to the broker it names, as its CN, with no user name or password', async () => {
    fresh();
    const state = join(directory, 'factory-device');
    const run = await runAgentSimCli([
      'device',
      '--state-dir',
      state,
      '--factory-cert',
      device.certFile,
      '--factory-key',
      device.keyFile,
      '--root-ca',
      pki.root.certFile,
      '--discovery-url',
      discovery.url,
      '--broker-url',
      'mqtts://localhost:1',
      ...quick,
    ]);
    assert.equal(run.code, 1, run.stderr);
    const lines = run.stdout.split('\n');
    assert.equal(lines[0], `device 02:aa:bb:cc:dd:10 (factory certificate, discovery ${discovery.url})`);
    assert.ok(lines.includes(`  discovery: asking ${discovery.url}`), run.stdout);
    assert.ok(lines.includes(`  discovery: provision broker ${broker.url} (group line-3, account acme)`), run.stdout);
    assert.ok(lines.includes(`  connect: ${broker.url}`), 'the broker discovery named, not --broker-url');
    assert.match(run.stdout, /device not online: CONNACK 5/);
    assert.deepEqual(discovery.calls, [{ commonName: '02:aa:bb:cc:dd:10', issuedByManufacturer: true }]);
    assert.deepEqual(broker.connects, [
      { clientId: '02:aa:bb:cc:dd:10', username: undefined, password: undefined, certificateCommonName: '02:aa:bb:cc:dd:10' },
    ]);
    assert.equal(await readFile(join(state, 'factory-cert.pem'), 'utf8'), device.certPem, 'kept with the device');
    assert.equal(await readFile(join(state, 'factory-key.pem'), 'utf8'), device.keyPem);
  });

  it('Should say why discovery refused and stop there', async () => {
    fresh();
    discovery.respond = () => ({
      status: 403,
      body: { code: 'FACTORY_CERTIFICATE_BLOCKED', title: 'blocked', status: 403, detail: 'serial 0a blocked' },
    });
    const run = await runAgentSimCli(['device', '--state-dir', join(directory, 'factory-device'), '--json']);
    assert.equal(run.code, 1, run.stderr);
    const summary = JSON.parse(run.stdout.trim()) as { status: string; clientId: string; reason: string };
    assert.deepEqual(summary, {
      status: 'failed',
      clientId: '02:aa:bb:cc:dd:10',
      reason: `discovery ${discovery.url} (asked once): HTTP 403 FACTORY_CERTIFICATE_BLOCKED: blocked: serial 0a blocked`,
      attempts: 0,
    });
    assert.equal(broker.connects.length, 0, 'no broker without an assignment');
  });

  it('Should, on --factory-reset, remove what the device learnt, print it, and ask discovery again as a new device', async () => {
    fresh();
    const state = join(directory, 'factory-device');
    const settings = JSON.parse(await readFile(join(state, 'settings.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(state, 'settings.json'), JSON.stringify({ ...settings, provisioned: true, enabled: false }));
    for (const name of ['client.pem', 'client.key', 'chain.pem', 'account.json', 'configuration.json']) await writeFile(join(state, name), name);
    await mkdir(join(state, 'bundles'));
    await writeFile(join(state, 'learnt-roots.pem'), '');
    const run = await runAgentSimCli(['device', '--state-dir', state, '--factory-reset']);
    assert.equal(run.code, 1, run.stderr);
    const lines = run.stdout.split('\n');
    assert.equal(lines[1], '  factory-reset: removed account.json, bundles, chain.pem, client.key, client.pem, configuration.json');
    assert.equal(lines[2], `  discovery: asking ${discovery.url}`);
    assert.equal(discovery.calls.length, 1);
    assert.deepEqual(
      broker.connects.map((connect) => connect.certificateCommonName),
      ['02:aa:bb:cc:dd:10'],
    );
    assert.deepEqual((await readdir(state)).sort(), ['factory-cert.pem', 'factory-key.pem', 'learnt-roots.pem', 'root-ca.pem', 'settings.json']);
  });

  it('Should, provisioned, ask discovery with its own certificate and follow its account broker when it moved', async () => {
    fresh();
    const state = join(directory, 'factory-device');
    const operational = await issue(directory, pki.root, '/CN=02:aa:bb:cc:dd:10', 'operational', ['extendedKeyUsage=clientAuth'], 'pem');
    const settings = JSON.parse(await readFile(join(state, 'settings.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(state, 'settings.json'), JSON.stringify({ ...settings, provisioned: true, enabled: false }));
    await writeFile(join(state, 'client.pem'), operational.certPem);
    await writeFile(join(state, 'client.key'), operational.keyPem);
    await writeFile(join(state, 'configuration.json'), '{}');
    await writeFile(join(state, 'account.json'), JSON.stringify({ account: 'acme', clientId: '02:aa:bb:cc:dd:10', brokerUrl: 'mqtts://localhost:1' }));
    discovery.respond = (call) => ({
      status: 200,
      body: { clientId: call.commonName, kind: 'account', brokerUrl: broker.url, account: 'acme', enrollmentGroup: null },
    });
    const run = await runAgentSimCli(['device', '--state-dir', state]);
    assert.equal(run.code, 1, run.stderr);
    assert.ok(run.stdout.includes(`  discovery: account broker ${broker.url} (account acme): moved from mqtts://localhost:1\n`), run.stdout);
    assert.deepEqual(discovery.calls, [{ commonName: '02:aa:bb:cc:dd:10', issuedByManufacturer: false }], 'asked with the operational certificate');
    assert.equal((JSON.parse(await readFile(join(state, 'account.json'), 'utf8')) as { brokerUrl: string }).brokerUrl, broker.url);
    assert.deepEqual(broker.connects, [
      { clientId: '02:aa:bb:cc:dd:10', username: undefined, password: undefined, certificateCommonName: '02:aa:bb:cc:dd:10' },
    ]);
    assert.match(run.stdout, /device not online: account broker: .*Not authorized/);
  });

  it('Should CONNECT with a provisioning code: user name provisioning-code, the code as typed, a MAC-like clientId it keeps', async () => {
    fresh();
    broker.returnCode = 4;
    const state = join(directory, 'code-device');
    const first = await runAgentSimCli([
      'device',
      '--state-dir',
      state,
      '--code',
      '1234 5678-9012',
      '--root-ca',
      pki.root.certFile,
      '--broker-url',
      broker.url,
      ...quick,
    ]);
    assert.equal(first.code, 1, first.stderr);
    const clientId = /^device (\S+) \(provisioning code\)$/m.exec(first.stdout)?.[1];
    assert.match(clientId ?? '', /^02(:[0-9a-f]{2}){5}$/);
    assert.match(first.stdout, /device not online: CONNACK 4/);
    assert.deepEqual(broker.connects, [{ clientId, username: 'provisioning-code', password: '1234 5678-9012', certificateCommonName: null }]);

    const second = await runAgentSimCli([
      'device',
      '--state-dir',
      state,
      '--code',
      '999988887777',
      '--root-ca',
      pki.root.certFile,
      '--broker-url',
      broker.url,
      ...quick,
    ]);
    assert.equal(second.code, 1, second.stderr);
    assert.equal(broker.connects[1]?.clientId, clientId, 'made again with a new code, it is the same device');
    assert.equal(broker.connects[1]?.password, '999988887777');

    const named = await runAgentSimCli([
      'device',
      '--state-dir',
      state,
      '--code',
      '999988887777',
      '--client-id',
      'gw-1',
      '--root-ca',
      pki.root.certFile,
      '--broker-url',
      broker.url,
      ...quick,
    ]);
    assert.equal(named.code, 1, named.stderr);
    assert.equal(broker.connects[2]?.clientId, 'gw-1');
  });

  it('Should run a fleet from a factory credentials directory, each device asking discovery with its own certificate', async () => {
    fresh();
    const fleet = join(directory, 'factory-fleet');
    await mkdir(fleet);
    const names = ['02:00:00:00:00:03', '02:00:00:00:00:01', '02:00:00:00:00:02'];
    for (const name of names) await factoryCertificate(fleet, pki.manufacturer, `/CN=${name}`, name);
    const stateRoot = join(directory, 'factory-fleet-state');
    const run = await runAgentSimCli([
      'fleet',
      '--factory-credentials-dir',
      fleet,
      '--root-ca',
      pki.root.certFile,
      '--discovery-url',
      discovery.url,
      '--state-root',
      stateRoot,
      '--concurrency',
      '1',
      '--json',
      ...quick,
    ]);
    assert.equal(run.code, 1, run.stderr);
    const summary = JSON.parse(run.stdout.trim()) as { requested: number; failed: number; failuresByReason: Record<string, number> };
    assert.equal(summary.requested, 3);
    assert.equal(summary.failed, 3);
    assert.deepEqual(Object.keys(summary.failuresByReason), ['CONNACK 5: not authorized (request expired, or locked out)']);
    const sorted = [...names].sort();
    assert.deepEqual(
      discovery.calls.map((call) => call.commonName),
      sorted,
      'in the order of the file names',
    );
    assert.deepEqual(
      broker.connects,
      sorted.map((clientId) => ({ clientId, username: undefined, password: undefined, certificateCommonName: clientId })),
    );
    assert.equal(
      await readFile(join(stateRoot, encodeURIComponent(sorted[0]!), 'factory-cert.pem'), 'utf8'),
      await readFile(join(fleet, `${sorted[0]}.crt`), 'utf8'),
    );
  });

  it('Should run a fleet from a provisioning codes file, one device per code', async () => {
    fresh();
    broker.returnCode = 4;
    const codes = join(directory, 'codes.csv');
    await writeFile(codes, 'id,code,accountId,category,expiresOn\nc-1,1111-2222-3333,a,,2030-01-01\nc-2,4444-5555-6666,a,,2030-01-01\n');
    const run = await runAgentSimCli([
      'fleet',
      '--codes-file',
      codes,
      '--root-ca',
      pki.root.certFile,
      '--broker-url',
      broker.url,
      '--concurrency',
      '1',
      '--json',
      ...quick,
    ]);
    assert.equal(run.code, 1, run.stderr);
    assert.deepEqual(broker.connects, [
      { clientId: codeDeviceClientId('c-1'), username: 'provisioning-code', password: '1111-2222-3333', certificateCommonName: null },
      { clientId: codeDeviceClientId('c-2'), username: 'provisioning-code', password: '4444-5555-6666', certificateCommonName: null },
    ]);
  });
});
