import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DeviceState } from '../agent-sim/device-state.ts';
import { askDiscovery, discoverAssignment, DiscoveryError } from '../agent-sim/discovery-client.ts';
import { factoryClientId, readFactoryCredentials, readFactoryCredentialsDirectory } from '../agent-sim/factory-credentials.ts';
import { codeDeviceClientId, parseProvisioningCodesCsv, parseProvisioningCodesJson, randomMacLikeId } from '../agent-sim/provisioning-codes.ts';
import { settingsFor } from '../agent-sim/settings.ts';
import { clientCertificateTls } from '../agent-sim/tls-contexts.ts';
import { provisioningCodeUsername } from '../protocol/enrollment.ts';
import { isAcceptableClientId } from '../protocol/topics.ts';
import { opensslSkip, removeTemporaryDirectories, temporaryDirectory } from './support/ca-test-kit.ts';
import {
  factoryCertificate,
  issue,
  makeCa,
  makePki,
  problem,
  startDiscovery,
  type PemFiles,
  type TestDiscovery,
  type TestPki,
} from './support/agent-sim-zero-touch-kit.ts';

/**
 * agent-sim's side of zero-touch onboarding (issue 18, docs/PROTOCOL.md §17-§19) without the
 * platform: the factory credentials it reads, the provisioning codes it takes, what a factory
 * reset removes, and the discovery client against a real mutual-TLS server. The CLI, against a
 * stand-in broker and discovery, is test/agent-sim-zero-touch-cli.test.ts.
 */
describe('agent-sim zero-touch: factory credentials', { skip: opensslSkip }, () => {
  let directory: string;
  let manufacturer: PemFiles;
  before(async () => {
    directory = await temporaryDirectory('agent-sim-factory-');
    manufacturer = await makeCa(directory, 'manufacturer');
  });
  after(removeTemporaryDirectories);

  it('Should take the clientId from the one subject CN, unescaped', async () => {
    const device = await factoryCertificate(directory, manufacturer, '/O=Acme/CN=02:aa:bb:cc:dd:01', 'cn');
    assert.equal(factoryClientId(device.certPem), '02:aa:bb:cc:dd:01');
    const read = await readFactoryCredentials(device.certFile, device.keyFile);
    assert.equal(read.clientId, '02:aa:bb:cc:dd:01');
    assert.deepEqual(read.factory, { certPem: device.certPem, keyPem: device.keyPem });
  });

  it('Should refuse a certificate with no CN or with two', async () => {
    const none = await factoryCertificate(directory, manufacturer, '/O=Acme', 'no-cn');
    assert.throws(() => factoryClientId(none.certPem), /no CN/);
    const two = await factoryCertificate(directory, manufacturer, '/CN=one/CN=two', 'two-cn');
    assert.throws(() => factoryClientId(two.certPem), /2 CNs/);
    assert.throws(() => factoryClientId('not a certificate'), /not a PEM certificate/);
  });

  it("Should refuse a key that is not the certificate's", async () => {
    const first = await factoryCertificate(directory, manufacturer, '/CN=first', 'first');
    const second = await factoryCertificate(directory, manufacturer, '/CN=second', 'second');
    await assert.rejects(readFactoryCredentials(first.certFile, second.keyFile), /the key is not the certificate's/);
  });

  it('Should read a fleet directory in the order of the names, and refuse a CN that is not its file name', async () => {
    const fleet = join(directory, 'fleet');
    await mkdir(fleet);
    for (const name of ['dev-c', 'dev-a', 'dev-b']) await factoryCertificate(fleet, manufacturer, `/CN=${name}`, name);
    const devices = await readFactoryCredentialsDirectory(fleet);
    assert.deepEqual(
      devices.map((device) => device.clientId),
      ['dev-a', 'dev-b', 'dev-c'],
    );
    assert.ok(devices.every((device) => factoryClientId(device.factory.certPem) === device.clientId));

    await factoryCertificate(fleet, manufacturer, '/CN=someone-else', 'dev-d');
    await assert.rejects(readFactoryCredentialsDirectory(fleet), /dev-d\.crt: its CN is someone-else, not the file's name/);
    const empty = join(directory, 'empty');
    await mkdir(empty);
    await assert.rejects(readFactoryCredentialsDirectory(empty), /holds no \{clientId\}\.crt/);
  });
});

describe('agent-sim zero-touch: provisioning codes', () => {
  it('Should make MAC-like clientIds the platform accepts', () => {
    const generated = new Set(Array.from({ length: 50 }, () => randomMacLikeId()));
    assert.equal(generated.size, 50, 'random');
    for (const clientId of generated) {
      assert.match(clientId, /^02(:[0-9a-f]{2}){5}$/);
      assert.ok(isAcceptableClientId(clientId), clientId);
    }
  });

  it("Should read the API's codes CSV: one device per code, its clientId from the code's id", () => {
    const csv = [
      'id,code,accountId,category,expiresOn',
      'code-1,1234-5678-9012,acc-1,sensors,2030-01-01T00:00:00.000Z',
      'code-2,2222-3333-4444,acc-1,,2030-01-01T00:00:00.000Z',
    ].join('\r\n');
    const devices = parseProvisioningCodesCsv(csv);
    assert.deepEqual(devices, [
      { clientId: codeDeviceClientId('code-1'), username: provisioningCodeUsername, password: '1234-5678-9012' },
      { clientId: codeDeviceClientId('code-2'), username: provisioningCodeUsername, password: '2222-3333-4444' },
    ]);
    assert.deepEqual(parseProvisioningCodesCsv(csv), devices, 'the same file gives the same devices');
    assert.notEqual(devices[0]!.clientId, devices[1]!.clientId);
    assert.ok(devices.every((device) => isAcceptableClientId(device.clientId) && /^02(:[0-9a-f]{2}){5}$/.test(device.clientId)));
    assert.deepEqual(parseProvisioningCodesJson(JSON.stringify({ items: [{ id: 'code-1', code: '1234-5678-9012', expiresOn: 1 }] })), [devices[0]]);
  });

  it('Should refuse a file without id and code columns, or with a code that is not 12 digits', () => {
    assert.throws(() => parseProvisioningCodesCsv('clientId,username,password\na,b,c'), /needs id and code columns/);
    assert.throws(() => parseProvisioningCodesCsv('id,code\ncode-1,1234-5678'), /line 2: the code "1234-5678" is not 12 digits/);
  });

  it("Should give a code device the protocol's user name and the code as typed", () => {
    const settings = settingsFor({
      mac: '02:00:00:00:00:01',
      serial: '1',
      'client-id': '02:00:00:00:00:01',
      username: provisioningCodeUsername,
      password: '1234 5678 9012',
    });
    assert.equal(settings.username, 'provisioning-code');
    assert.equal(settings.password, '1234 5678 9012');
    assert.equal(settings['client-id'], '02:00:00:00:00:01');
  });
});

describe('agent-sim zero-touch: factory reset', () => {
  after(removeTemporaryDirectories);

  it('Should remove exactly what the device learnt and keep what the factory gave, and the roots learnt', async () => {
    const directory = await temporaryDirectory('agent-sim-reset-');
    const state = new DeviceState(directory);
    const factory = { certPem: 'FACTORY CERT', keyPem: 'FACTORY KEY' };
    const settings = { ...settingsFor({ mac: 'm', serial: '1', password: '', username: '' }), provisioned: true, enabled: false };
    await state.initialise(settings, 'ROOT', factory);
    const learnt = [
      'account.json',
      'chain.pem',
      'client-0a1b.key',
      'client-0a1b.pem',
      'client.key',
      'client.key.tmp',
      'client.pem',
      'configuration.json',
      'current.json',
      'renewal.json',
      'signing.pem',
    ];
    for (const name of [...learnt, 'learnt-roots.pem']) await writeFile(join(directory, name), name);
    await mkdir(join(directory, 'bundles'));
    await writeFile(join(directory, 'bundles', 'firmware-1.bin'), 'x');

    const reset = await state.factoryReset(await state.settings());
    assert.deepEqual(reset.removed, [...learnt, 'bundles'].sort());
    assert.deepEqual((await readdir(directory)).sort(), ['factory-cert.pem', 'factory-key.pem', 'learnt-roots.pem', 'root-ca.pem', 'settings.json']);
    assert.deepEqual(await state.factoryCredentials(), factory);
    assert.equal(await state.trustedRoot(), 'ROOT');
    assert.deepEqual({ provisioned: reset.settings.provisioned, enabled: reset.settings.enabled }, { provisioned: false, enabled: true });
    assert.deepEqual(await state.settings(), reset.settings);

    const again = await state.factoryReset(reset.settings);
    assert.deepEqual(again.removed, [], 'nothing left to remove');
  });

  it('Should forget the factory credentials when the device is made again without them', async () => {
    const directory = await temporaryDirectory('agent-sim-remade-');
    const state = new DeviceState(directory);
    const settings = settingsFor({ mac: 'm', serial: '1', password: 'p' });
    await state.initialise(settings, 'ROOT', { certPem: 'C', keyPem: 'K' });
    assert.notEqual(await state.factoryCredentials(), null);
    await state.initialise(settings, 'ROOT');
    assert.equal(await state.factoryCredentials(), null);
    assert.deepEqual((await readdir(directory)).sort(), ['root-ca.pem', 'settings.json']);
  });
});

describe('agent-sim zero-touch: the discovery client', { skip: opensslSkip }, () => {
  let directory: string;
  let pki: TestPki;
  let discovery: TestDiscovery;
  let device: PemFiles;
  let tls: ReturnType<typeof clientCertificateTls>;
  const noSleep = async (): Promise<void> => undefined;
  before(async () => {
    directory = await temporaryDirectory('agent-sim-discovery-');
    pki = await makePki(directory);
    discovery = await startDiscovery(pki, () => 'mqtts://provision.example.test:8883');
    device = await factoryCertificate(directory, pki.manufacturer, '/CN=02:aa:bb:cc:dd:07', 'device');
    tls = clientCertificateTls(device, pki.root.certPem);
  });
  after(async () => {
    await discovery.close();
    await removeTemporaryDirectories();
  });

  it('Should present the factory certificate over mutual TLS and read the assignment', async () => {
    discovery.calls.length = 0;
    const assignment = await askDiscovery(discovery.url, tls, 5_000);
    assert.deepEqual(assignment, {
      clientId: '02:aa:bb:cc:dd:07',
      kind: 'provision',
      brokerUrl: 'mqtts://provision.example.test:8883',
      account: 'acme',
      enrollmentGroup: { id: 'g-1', name: 'line-3' },
    });
    assert.deepEqual(discovery.calls, [{ commonName: '02:aa:bb:cc:dd:07', issuedByManufacturer: true }]);
    assert.equal((await askDiscovery(`${discovery.url}/`, tls, 5_000)).clientId, '02:aa:bb:cc:dd:07', 'a trailing slash is fine');
  });

  it('Should report a refusal with its status and problem detail, asking again within the retry budget', async () => {
    const stranger = await makeCa(directory, 'stranger-ca');
    const forged = await factoryCertificate(directory, stranger, '/CN=02:aa:bb:cc:dd:07', 'forged');
    discovery.calls.length = 0;
    const failures: string[] = [];
    await assert.rejects(
      discoverAssignment(discovery.url, clientCertificateTls(forged, pki.root.certPem), {
        timeoutMs: 5_000,
        retryIntervalMs: 1,
        maxAttempts: 3,
        sleep: noSleep,
        onFailure: (reason, again) => failures.push(`${again}: ${reason}`),
      }),
      (error: unknown) => {
        assert.ok(error instanceof DiscoveryError);
        assert.equal(error.status, 403);
        assert.equal(
          error.message,
          `discovery ${discovery.url} (asked 3 times): HTTP 403 CERTIFICATE_INVALID: certificate_invalid: not signed by a registered manufacturer CA`,
        );
        return true;
      },
    );
    assert.equal(discovery.calls.length, 3);
    assert.deepEqual(
      failures.map((failure) => failure.split(':')[0]),
      ['true', 'true', 'false'],
    );
  });

  it('Should not ask again when asking again cannot help: no certificate (401), a wrong path (404), an answer that is no assignment', async () => {
    discovery.calls.length = 0;
    const retries = { timeoutMs: 5_000, retryIntervalMs: 1, maxAttempts: 5, sleep: noSleep };
    await assert.rejects(
      discoverAssignment(discovery.url, clientCertificateTls({ certPem: '', keyPem: '' }, pki.root.certPem), retries),
      /asked once\): HTTP 401/,
    );
    await assert.rejects(discoverAssignment(`${discovery.url}/prefix`, tls, retries), /asked once\): HTTP 404 NOT_FOUND/);
    discovery.respond = () => ({ status: 200, body: { clientId: 'x', kind: 'provision', brokerUrl: 'http://not-mqtt' } });
    await assert.rejects(discoverAssignment(discovery.url, tls, retries), /brokerUrl "http:\/\/not-mqtt" is not an mqtts:\/\/ or mqtt:\/\/ URL/);
    discovery.respond = () => ({ status: 200, body: 'not json' });
    await assert.rejects(discoverAssignment(discovery.url, tls, retries), /the answer is not JSON/);
    assert.equal(discovery.calls.length, 4);
  });

  it('Should ask again after a 503, waiting its Retry-After, and take the answer that follows', async () => {
    discovery.calls.length = 0;
    let answered = 0;
    discovery.respond = (call) =>
      (answered += 1) === 1
        ? { ...problem(503, 'STORE_UNAVAILABLE', 'try later'), headers: { 'retry-after': '2' } }
        : {
            status: 200,
            body: { clientId: call.commonName, kind: 'account', brokerUrl: 'mqtts://account.example.test:8884', account: 'acme', enrollmentGroup: null },
          };
    const waits: number[] = [];
    const assignment = await discoverAssignment(discovery.url, tls, {
      timeoutMs: 5_000,
      retryIntervalMs: 10,
      maxAttempts: 2,
      sleep: async (ms) => void waits.push(ms),
    });
    assert.equal(assignment.kind, 'account');
    assert.equal(assignment.enrollmentGroup, null);
    assert.deepEqual(waits, [2_000]);
    assert.equal(discovery.calls.length, 2);
  });

  it('Should refuse a discovery server its roots do not trust', async () => {
    const otherRoot = await makeCa(directory, 'other-root');
    await assert.rejects(askDiscovery(discovery.url, clientCertificateTls(device, otherRoot.certPem), 5_000), (error: unknown) => {
      assert.ok(error instanceof DiscoveryError);
      assert.match(error.message, /cannot connect: .*(certificate|verify)/i);
      assert.equal(error.retry, true);
      return true;
    });
  });

  it('Should end within its timeout when discovery does not answer', async () => {
    const server = await issue(directory, pki.root, '/CN=localhost', 'silent', ['subjectAltName=DNS:localhost']);
    const { createServer } = await import('node:https');
    const silent = createServer({ key: server.keyPem, cert: server.certPem }, () => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const started = Date.now();
      const port = (silent.address() as { port: number }).port;
      await assert.rejects(askDiscovery(`https://localhost:${port}`, tls, 300), /timeout waiting for the answer \(300 ms\)/);
      assert.ok(Date.now() - started < 3_000);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
