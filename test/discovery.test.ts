import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { startDiscoveryServer, type RunningDiscoveryServer } from '../api/discovery/discovery-server.ts';
import type { TlsCredentials } from '../certs/certificate-authority.ts';
import type { ManufacturerCa } from '../store/enrollment-types.ts';
import { loadConfig } from '../config/config.ts';
import { openStore } from '../store/open-store.ts';
import type { Account, ProvisionStore } from '../store/types.ts';
import { issueFactoryCertificate, makeManufacturerCa, type ManufacturerCaKit } from './support/factory-certificates.ts';
import { openTestCa, removeTemporaryDirectories, silentLog, temporaryDirectory } from './support/ca-test-kit.ts';
import { startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { askDiscovery, type DiscoveryAnswer, type DiscoveryClientCredentials } from './support/discovery-request.ts';
import { createGroup, registerManufacturerCa } from './support/zero-touch-kit.ts';

/**
 * Discovery (docs/PROTOCOL.md §19, issue 18): a real platform, real TLS with real client
 * certificates (factory certificates of a manufacturer CA, operational certificates of the
 * platform's CA), records made through the store. What a device sees: the status, the body, and
 * the server certificate it checks against the root.
 */

describe('discovery: GET /discovery/v1/assignment with mutual TLS', () => {
  let fixture: TestPlatform;
  let maker: ManufacturerCaKit;
  let makerCa: ManufacturerCa;
  let acme: Account;
  let globex: Account;
  let ownProvisionUrl: string;

  const discover = (client: DiscoveryClientCredentials | null, path?: string): Promise<DiscoveryAnswer> =>
    askDiscovery(fixture.platform.discoveryPort, fixture.rootPem, client, path);

  before(async () => {
    fixture = await startTestPlatform();
    const { store } = fixture.platform;
    ownProvisionUrl = `mqtts://localhost:${fixture.platform.provisionBroker.mqttsPort}`;
    acme = await store.createAccount({ name: 'acme', brokerUrl: null, configurationTemplate: {}, defaultBundleIds: [] });
    globex = await store.createAccount({ name: 'globex', brokerUrl: 'mqtts://globex-broker.example:8884', configurationTemplate: {}, defaultBundleIds: [] });
    maker = makeManufacturerCa('Discovery Maker CA');
    makerCa = await registerManufacturerCa(fixture.platform.store, maker);
  });
  after(async () => {
    await fixture?.close();
    await removeTemporaryDirectories();
  });

  it("Should send a factory device to this platform's provision broker, naming the group that takes it and its account, and audit the answer", async () => {
    const group = await createGroup(fixture.platform.store, { name: 'meters', accountId: acme.id, manufacturerCaId: makerCa.id });
    const device = issueFactoryCertificate(maker, 'fd-0001', 0x1001);
    const answer = await discover(device);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.contentType, 'application/json');
    assert.deepEqual(answer.body, {
      clientId: 'fd-0001',
      kind: 'provision',
      brokerUrl: ownProvisionUrl,
      account: 'acme',
      enrollmentGroup: { id: group.id, name: 'meters' },
    });
    const audit = await fixture.platform.store.listAudit({ clientId: 'fd-0001', type: 'discovery.answered' });
    assert.equal(audit.items.length, 1);
    assert.equal(audit.items[0]?.accountId, acme.id);
    assert.deepEqual(audit.items[0]?.detail, {
      kind: 'provision',
      brokerUrl: ownProvisionUrl,
      serial: device.serial,
      manufacturerCaId: makerCa.id,
      enrollmentGroupId: group.id,
    });
  });

  it("Should present the brokers' server certificate, which the platform's root verifies for localhost", async () => {
    const answer = await discover(issueFactoryCertificate(maker, 'fd-0002', 0x1002));
    assert.equal(answer.status, 200);
    const brokers = new X509Certificate(fixture.platform.ca.serverCredentials.certPem);
    assert.equal(answer.server.fingerprint256, brokers.fingerprint256, 'the same certificate as the brokers');
    // The request above already refused anything the root does not verify for localhost (rejectUnauthorized by default); the chain says so too.
    assert.ok(answer.server.checkHost('localhost'));
    assert.ok(answer.server.verify(new X509Certificate(fixture.platform.ca.issuingCertificatePem).publicKey));
  });

  it("Should send a device to its enrollment group's provision broker URL (a group naming it on its allow list comes first)", async () => {
    const elsewhere = 'mqtts://instance-b.example:8883';
    const group = await createGroup(fixture.platform.store, {
      name: 'instance-b devices',
      accountId: acme.id,
      manufacturerCaId: makerCa.id,
      allowClientIds: ['fd-0100'],
      provisionBrokerUrl: elsewhere,
    });
    const answer = await discover(issueFactoryCertificate(maker, 'fd-0100', 0x1100));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body['brokerUrl'], elsewhere);
    assert.deepEqual(answer.body['enrollmentGroup'], { id: group.id, name: 'instance-b devices' });
  });

  it("Should follow a device assignment: its group (another account's), then its provision broker URL over the group's", async () => {
    const { store } = fixture.platform;
    const globexGroup = await createGroup(store, { name: 'globex meters', accountId: globex.id, manufacturerCaId: makerCa.id });
    const device = issueFactoryCertificate(maker, 'fd-0200', 0x1200);
    const before = await discover(device);
    assert.equal(before.body['account'], 'acme', 'without an assignment the oldest group that takes it');

    await store.putDeviceAssignment({ clientId: 'fd-0200', enrollmentGroupId: globexGroup.id, provisionBrokerUrl: null, modifiedBy: 'test' });
    const moved = await discover(device);
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.deepEqual(moved.body, {
      clientId: 'fd-0200',
      kind: 'provision',
      brokerUrl: ownProvisionUrl,
      account: 'globex',
      enrollmentGroup: { id: globexGroup.id, name: 'globex meters' },
    });

    const otherInstance = 'mqtts://instance-c.example:8883';
    await store.putDeviceAssignment({ clientId: 'fd-0200', enrollmentGroupId: globexGroup.id, provisionBrokerUrl: otherInstance, modifiedBy: 'test' });
    await store.updateEnrollmentGroup(globexGroup.id, globexGroup.version, { provisionBrokerUrl: 'mqtts://group-url.example:8883' });
    const sentAway = await discover(device);
    assert.equal(sentAway.body['brokerUrl'], otherInstance, "the assignment's URL wins over the group's");
  });

  it('Should send an operational certificate of this platform to its account broker, and refuse it once revoked', async () => {
    const { store, ca } = fixture.platform;
    const operational = async (clientId: string, account: Account) => {
      const issued = await ca.issueWithGeneratedKey({ clientId, account: account.name });
      await store.recordCertificate({
        serial: issued.serial,
        accountId: account.id,
        clientId,
        provisionRequestId: null,
        pem: issued.certPem,
        notBefore: issued.notBefore,
        notAfter: issued.notAfter,
      });
      return { certPem: issued.certPem, keyPem: issued.keyPem, serial: issued.serial };
    };
    const acmeDevice = await operational('op-0001', acme);
    const answer = await discover(acmeDevice);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(answer.body, {
      clientId: 'op-0001',
      kind: 'account',
      brokerUrl: `mqtts://localhost:${fixture.platform.accountBroker.mqttsPort}`,
      account: 'acme',
    });
    const globexDevice = await operational('op-0002', globex);
    assert.equal((await discover(globexDevice)).body['brokerUrl'], 'mqtts://globex-broker.example:8884', "the account's own broker URL");

    await store.revokeCertificate(acmeDevice.serial, 'test');
    const revoked = await discover(acmeDevice);
    assert.equal(revoked.status, 403);
    assert.equal(revoked.body['code'], 'CERTIFICATE_INVALID');

    // Signed by the platform's CA but never recorded: not one of its operational certificates.
    const unrecorded = await ca.issueWithGeneratedKey({ clientId: 'op-0003', account: 'acme' });
    const refused = await discover(unrecorded);
    assert.equal(refused.status, 403);
    assert.equal(refused.body['code'], 'CERTIFICATE_INVALID');
  });

  it('Should refuse a blocked factory certificate with 403 FACTORY_CERTIFICATE_BLOCKED as a problem body', async () => {
    const device = issueFactoryCertificate(maker, 'fd-0300', 0x1300);
    assert.equal((await discover(device)).status, 200);
    await fixture.platform.store.blockFactoryCertificate({
      manufacturerCaId: makerCa.id,
      serial: device.serial,
      reason: 'stolen',
      blockedOn: Date.now(),
      blockedBy: 'test',
    });
    const answer = await discover(device);
    assert.equal(answer.status, 403);
    assert.equal(answer.contentType, 'application/problem+json');
    assert.equal(answer.body['code'], 'FACTORY_CERTIFICATE_BLOCKED');
    assert.equal(answer.body['status'], 403);
    assert.equal(answer.body['type'], 'https://provisio.dev/errors/FACTORY_CERTIFICATE_BLOCKED');
  });

  it('Should refuse a certificate of an unknown or disabled CA, and one outside its validity, with 403 CERTIFICATE_INVALID', async () => {
    const stranger = makeManufacturerCa('Unregistered Maker CA');
    const unknown = await discover(issueFactoryCertificate(stranger, 'fd-0400', 0x1400));
    assert.equal(unknown.status, 403);
    assert.equal(unknown.contentType, 'application/problem+json');
    assert.equal(unknown.body['code'], 'CERTIFICATE_INVALID');

    const disabledKit = makeManufacturerCa('Disabled Maker CA');
    await registerManufacturerCa(fixture.platform.store, disabledKit, false);
    const disabled = await discover(issueFactoryCertificate(disabledKit, 'fd-0401', 0x1401));
    assert.equal(disabled.status, 403);
    assert.equal(disabled.body['code'], 'CERTIFICATE_INVALID');

    const now = Date.now();
    const expired = await discover(issueFactoryCertificate(maker, 'fd-0402', 0x1402, { notBefore: now - 20 * 86_400_000, notAfter: now - 86_400_000 }));
    assert.equal(expired.status, 403);
    assert.equal(expired.body['code'], 'CERTIFICATE_INVALID');
  });

  it('Should answer 401 UNAUTHENTICATED without a client certificate, and 404 elsewhere', async () => {
    const anonymous = await discover(null);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.contentType, 'application/problem+json');
    assert.equal(anonymous.body['code'], 'UNAUTHENTICATED');
    const elsewhere = await discover(issueFactoryCertificate(maker, 'fd-0500', 0x1500), '/api/v1/accounts');
    assert.equal(elsewhere.status, 404);
    assert.equal(elsewhere.body['code'], 'NOT_FOUND');
  });
});

describe('discovery: the server certificate reissued while running', () => {
  let server: RunningDiscoveryServer | undefined;
  let store: ProvisionStore | undefined;
  after(async () => {
    await server?.close();
    await store?.close();
    await removeTemporaryDirectories();
  });

  it('Should present the new server certificate from the next connection on', async () => {
    const dataDir = await temporaryDirectory();
    store = await openStore(loadConfig({}, { dataDir }));
    const [first, second] = await Promise.all([openTestCa(dataDir), openTestCa(await temporaryDirectory())]);
    let credentials: TlsCredentials = first.serverCredentials;
    server = await startDiscoveryServer({
      host: '127.0.0.1',
      port: 0,
      credentials: () => credentials,
      store,
      audit: store,
      platformCas: [],
      provisionBrokerUrl: 'mqtts://localhost:8883',
      accountBrokerUrl: 'mqtts://localhost:8884',
      log: silentLog,
    });
    const before = await askDiscovery(server.port, first.rootCertificatePem, null);
    assert.equal(before.status, 401);
    assert.equal(before.server.fingerprint256, new X509Certificate(first.serverCredentials.certPem).fingerprint256);
    credentials = second.serverCredentials;
    const afterwards = await askDiscovery(server.port, second.rootCertificatePem, null);
    assert.equal(afterwards.status, 401);
    assert.equal(afterwards.server.fingerprint256, new X509Certificate(second.serverCredentials.certPem).fingerprint256);
  });
});
