import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { enrollmentCreator } from '../store/enrollment-rules.ts';
import { issueFactoryCertificate, makeManufacturerCa, type FactoryCredentials, type ManufacturerCaKit } from './support/factory-certificates.ts';
import { startTestPlatform, connackOf, type TestPlatform } from './support/platform-fixture.ts';
import {
  closed,
  connectFactory,
  createAccount,
  createGroup,
  factoryConnack,
  provisionOver,
  refusalLogged,
  registerManufacturerCa,
} from './support/zero-touch-kit.ts';
import type { EnrollmentGroup, ManufacturerCa } from '../store/enrollment-types.ts';

/**
 * Factory certificates on the provision broker (issue 18, docs/PROTOCOL.md §17): real TLS sockets,
 * real mqtt.js clients, factory certificates signed by a maker's CA made here; the CA and groups
 * are made directly through the store.
 */
describe('provision broker: factory certificates', () => {
  let fixture: TestPlatform;
  let maker: ManufacturerCaKit;
  let ca: ManufacturerCa;
  let accountId: string;
  let group: EnrollmentGroup;
  let serial = 0x1000;
  const device = (clientId: string, validity?: { notBefore?: number; notAfter?: number }): FactoryCredentials =>
    issueFactoryCertificate(maker, clientId, (serial += 1), validity);

  before(async () => {
    fixture = await startTestPlatform({ authFailureLimit: 1000, authAddressFailureLimit: 10_000 });
    const store = fixture.platform.store;
    maker = makeManufacturerCa('ZT Broker Maker CA');
    ca = await registerManufacturerCa(store, maker);
    accountId = await createAccount(fixture, 'zt-factory', ['meters']);
    group = await createGroup(store, { name: 'meters-2026', accountId, manufacturerCaId: ca.id, category: 'meters', tags: ['factory'] });
  });
  after(() => fixture.close());

  /** CONNACK `code`, and the refusal logged with `errorCode` (MQTT 3.1.1 carries no reason). */
  async function expectRefused(
    credentials: FactoryCredentials,
    code: number,
    errorCode: string,
    options: { clientId?: string } = {},
  ): Promise<string | undefined> {
    const from = fixture.logText().length;
    const clientId = options.clientId ?? credentials.clientId;
    assert.equal(await factoryConnack(fixture, credentials, { clientId }), code, `CONNACK to ${clientId}`);
    const logged = refusalLogged(fixture, clientId, from);
    assert.equal(logged?.code, errorCode, `logged refusal of ${clientId}: ${JSON.stringify(logged)}`);
    return logged?.reason;
  }

  it('provisions a factory device end to end into its group: request made on the fly, account, category, tags, registry', async () => {
    const fd = device('zt-fd-0001');
    const client = await connectFactory(fixture, fd);
    let result;
    try {
      result = await provisionOver(client, fd.clientId, 'fd-req-1');
    } finally {
      await client.endAsync();
    }
    assert.equal(result.clientId, fd.clientId);
    assert.equal(result.account, 'zt-factory');
    const store = fixture.platform.store;
    const requests = await store.listProvisionRequests({ accountId, clientIds: [fd.clientId] });
    assert.equal(requests.items.length, 1);
    const request = requests.items[0]!;
    assert.equal(request.createdBy, enrollmentCreator.group(group.id));
    assert.equal(request.category, 'meters');
    assert.deepEqual(request.tags, ['factory']);
    assert.equal(request.username, 'factory-certificate');
    assert.equal(request.jobStatus, 'COMPLETED');
    assert.equal(request.status, 'DISABLED');
    const registered = await store.getDevice(accountId, fd.clientId);
    assert.equal(registered?.category, 'meters');
    assert.equal(registered?.certificateSerial, new X509Certificate(result.certificates.client).serialNumber.toLowerCase());
    const audit = await store.listAudit({ provisionRequestId: request.id, type: 'request.created' });
    assert.equal(audit.items.length, 1);
    assert.equal(audit.items[0]!.actor, enrollmentCreator.group(group.id));
    assert.deepEqual(audit.items[0]!.detail, {
      enrollment: 'factory-certificate',
      groupId: group.id,
      serial: fd.serial,
      username: 'factory-certificate',
      status: 'ENABLED',
    });
  });

  it('continues the request it made when the device reconnects mid-way (a new connection, the same request)', async () => {
    const fd = device('zt-fd-resume');
    const first = await connectFactory(fixture, fd);
    await first.endAsync();
    const made = await fixture.platform.store.findEnabledProvisionRequest(fd.clientId);
    assert.equal(made?.createdBy, enrollmentCreator.group(group.id));
    const again = await connectFactory(fixture, fd);
    try {
      await provisionOver(again, fd.clientId, 'resume-1');
    } finally {
      await again.endAsync();
    }
    const requests = await fixture.platform.store.listProvisionRequests({ clientIds: [fd.clientId] });
    assert.deepEqual(
      requests.items.map((request) => [request.id, request.jobStatus]),
      [[made!.id, 'COMPLETED']],
    );
  });

  it('refuses a clientId that is not the certificate CN with CONNACK 5 CERTIFICATE_INVALID', async () => {
    const fd = device('zt-fd-cn');
    const reason = await expectRefused(fd, 5, 'CERTIFICATE_INVALID', { clientId: 'zt-fd-other' });
    assert.equal(reason, 'clientId is not the certificate CN');
    assert.equal(await fixture.platform.store.findEnabledProvisionRequest('zt-fd-other'), null);
  });

  it('refuses a certificate of an unregistered CA, an expired one and one of a disabled CA with CONNACK 5 CERTIFICATE_INVALID', async () => {
    const stranger = makeManufacturerCa('Unregistered Maker CA');
    await expectRefused(issueFactoryCertificate(stranger, 'zt-fd-stranger', 7), 5, 'CERTIFICATE_INVALID');
    const expired = device('zt-fd-expired', { notBefore: Date.now() - 10 * 86_400_000, notAfter: Date.now() - 86_400_000 });
    assert.equal(await expectRefused(expired, 5, 'CERTIFICATE_INVALID'), 'outside its validity');
    // A disabled CA: the CA list is kept 5 s per process, so a CA of its own, disabled from the start.
    const disabledKit = makeManufacturerCa('Disabled Maker CA');
    await registerManufacturerCa(fixture.platform.store, disabledKit, false);
    await new Promise((resolve) => setTimeout(resolve, 5_100));
    assert.equal(
      await expectRefused(issueFactoryCertificate(disabledKit, 'zt-fd-disabled-ca', 9), 5, 'CERTIFICATE_INVALID'),
      'its manufacturer CA is disabled',
    );
  });

  it('refuses a blocked serial with CONNACK 5 FACTORY_CERTIFICATE_BLOCKED', async () => {
    const fd = device('zt-fd-stolen');
    await fixture.platform.store.blockFactoryCertificate({
      manufacturerCaId: ca.id,
      serial: fd.serial,
      reason: 'stolen',
      blockedOn: Date.now(),
      blockedBy: 'test',
    });
    await expectRefused(fd, 5, 'FACTORY_CERTIFICATE_BLOCKED');
    assert.equal(await fixture.platform.store.findEnabledProvisionRequest(fd.clientId), null, 'no request made for it');
  });

  it('refuses with CONNACK 5 ENROLLMENT_REFUSED when no group takes the device: disabled, not open yet, closed, denied, not allowed', async () => {
    const store = fixture.platform.store;
    const otherMaker = makeManufacturerCa('Group Rules Maker CA');
    const otherCa = await registerManufacturerCa(store, otherMaker);
    await new Promise((resolve) => setTimeout(resolve, 5_100)); // the CA list is kept 5 s
    let next = 0x2000;
    const onOther = (clientId: string) => issueFactoryCertificate(otherMaker, clientId, (next += 1));
    assert.equal(await expectRefused(onOther('zt-fd-nogroup'), 5, 'ENROLLMENT_REFUSED'), 'no enrollment group on its manufacturer CA');
    const rules = await createGroup(store, { name: 'rules', accountId, manufacturerCaId: otherCa.id, enabled: false });
    assert.equal(await expectRefused(onOther('zt-fd-g-disabled'), 5, 'ENROLLMENT_REFUSED'), 'the enrollment group is disabled');
    let current = await store.updateEnrollmentGroup(rules.id, rules.version, { enabled: true, validFrom: Date.now() + 3_600_000 });
    assert.equal(await expectRefused(onOther('zt-fd-g-early'), 5, 'ENROLLMENT_REFUSED'), 'the enrollment group is not open yet');
    current = await store.updateEnrollmentGroup(rules.id, current.version, { validFrom: null, validUntil: Date.now() - 1_000 });
    assert.equal(await expectRefused(onOther('zt-fd-g-closed'), 5, 'ENROLLMENT_REFUSED'), 'the enrollment group has closed');
    current = await store.updateEnrollmentGroup(rules.id, current.version, { validUntil: null, denyClientIds: ['zt-fd-g-denied'] });
    assert.equal(await expectRefused(onOther('zt-fd-g-denied'), 5, 'ENROLLMENT_REFUSED'), 'denied by the enrollment group');
    const denied = onOther('zt-fd-g-denied-serial');
    current = await store.updateEnrollmentGroup(rules.id, current.version, { denySerials: [denied.serial] });
    assert.equal(await expectRefused(denied, 5, 'ENROLLMENT_REFUSED'), 'denied by the enrollment group');
    await store.updateEnrollmentGroup(rules.id, current.version, { allowClientIds: ['zt-fd-g-allowed'] });
    assert.equal(await expectRefused(onOther('zt-fd-g-not-allowed'), 5, 'ENROLLMENT_REFUSED'), 'not on the enrollment group allow list');
    assert.equal(await factoryConnack(fixture, onOther('zt-fd-g-allowed')), 0, 'the allowed device is admitted');
  });

  it('refuses a device whose clientId another enabled request holds, and one whose request an operator disabled', async () => {
    const store = fixture.platform.store;
    const held = device('zt-fd-held');
    const otherAccount = await createAccount(fixture, 'zt-holder');
    const response = await fixture.api('POST', '/provision-requests', { accountId: otherAccount, clientId: held.clientId });
    assert.equal(response.status, 201);
    assert.equal(await expectRefused(held, 5, 'ENROLLMENT_REFUSED'), 'another enabled provision request holds this clientId');

    const disabledByOperator = device('zt-fd-op-disabled');
    assert.equal(await factoryConnack(fixture, disabledByOperator), 0);
    const made = (await store.findEnabledProvisionRequest(disabledByOperator.clientId))!;
    assert.equal((await fixture.api('POST', `/provision-requests/${made.id}/disable`)).status, 200);
    assert.equal(await expectRefused(disabledByOperator, 5, 'ENROLLMENT_REFUSED'), 'its provision request is disabled');
  });

  it('refuses a completed device while the group does not allow provisioning again; with reprovisionAllowed it provisions again and the old certificate is revoked', async () => {
    const store = fixture.platform.store;
    const fd = device('zt-fd-reset');
    const first = await connectFactory(fixture, fd);
    let firstResult;
    try {
      firstResult = await provisionOver(first, fd.clientId, 'reset-1');
    } finally {
      await first.endAsync();
    }
    assert.equal(await expectRefused(fd, 5, 'ENROLLMENT_REFUSED'), 'already provisioned; the group does not allow provisioning again');

    const current = (await store.getEnrollmentGroup(group.id))!;
    group = await store.updateEnrollmentGroup(group.id, current.version, { reprovisionAllowed: true });
    const again = await connectFactory(fixture, fd);
    let secondResult;
    try {
      secondResult = await provisionOver(again, fd.clientId, 'reset-2');
    } finally {
      await again.endAsync();
    }
    const firstSerial = new X509Certificate(firstResult.certificates.client).serialNumber.toLowerCase();
    const secondSerial = new X509Certificate(secondResult.certificates.client).serialNumber.toLowerCase();
    assert.notEqual(firstSerial, secondSerial);
    assert.equal((await store.getCertificate(firstSerial))?.status, 'REVOKED');
    assert.equal((await store.getCertificate(secondSerial))?.status, 'VALID');
    const requests = await store.listProvisionRequests({ clientIds: [fd.clientId] });
    assert.equal(requests.items.length, 1, 'the same request, made ENABLED again');
    assert.equal(requests.items[0]!.jobStatus, 'COMPLETED');
    const reprovisioned = await store.listAudit({ provisionRequestId: requests.items[0]!.id, type: 'request.reprovision' });
    assert.equal(reprovisioned.items.length, 1);
    assert.equal(reprovisioned.items[0]!.actor, enrollmentCreator.group(group.id));
  });

  it('checks a CONNECT with a password as a password device, never as a factory device; no certificate and no password is CONNACK 4', async () => {
    const fd = device('zt-fd-password');
    const from = fixture.logText().length;
    assert.equal(await factoryConnack(fixture, fd, { username: 'someone', password: 'some-password' }), 4);
    assert.equal(refusalLogged(fixture, fd.clientId, from)?.code, 'CONNECT_BAD_CREDENTIALS');
    assert.equal(await fixture.platform.store.findEnabledProvisionRequest(fd.clientId), null);
    assert.equal(await connackOf(fixture.connectProvision({ clientId: 'zt-nothing' })), 4);
    assert.equal(await connackOf(fixture.connectProvision({ clientId: fd.clientId, tcp: true })), 4, 'plain TCP carries no certificate');
  });

  it('ends the live session of a factory device when its certificate is blocked, its group disabled or its CA disabled', async () => {
    const { sessions, store } = fixture.platform;
    const blocked = device('zt-fd-live-block');
    const byGroup = device('zt-fd-live-group');
    // In a group of its own (its allow list names it, so that group comes first).
    const byCa = device('zt-fd-live-ca');
    const own = await createGroup(store, { name: 'live-ca', accountId, manufacturerCaId: ca.id, allowClientIds: [byCa.clientId] });
    const [blockedClient, groupClient, caClient] = await Promise.all([blocked, byGroup, byCa].map((fd) => connectFactory(fixture, fd)));
    try {
      await sessions.endSessions({ kind: 'factory-certificate', manufacturerCaId: ca.id, serial: blocked.serial, cause: 'blocked' });
      await closed(blockedClient!);
      assert.ok(groupClient!.connected && caClient!.connected, 'only the blocked certificate is ended');
      const ended = await store.listAudit({ clientId: blocked.clientId, type: 'session.ended' });
      assert.equal(ended.items[0]?.detail['notice'], 'factory-certificate');
      assert.equal(ended.items[0]?.detail['cause'], 'blocked');

      await sessions.endSessions({ kind: 'enrollment-group', enrollmentGroupId: group.id, cause: 'disabled' });
      await closed(groupClient!);
      assert.ok(caClient!.connected, 'a device of another group stays');
      await sessions.endSessions({ kind: 'manufacturer-ca', manufacturerCaId: 'another-ca', cause: 'disabled' });
      assert.ok(caClient!.connected);
      await sessions.endSessions({ kind: 'manufacturer-ca', manufacturerCaId: ca.id, cause: 'disabled' });
      await closed(caClient!);
      assert.equal((await store.findEnabledProvisionRequest(byCa.clientId))?.createdBy, enrollmentCreator.group(own.id));
    } finally {
      await Promise.all([blockedClient, groupClient, caClient].map((client) => client?.endAsync()));
    }
  });

  it('counts factory refusals on the brute-force guard like wrong passwords, and audits them as connect.refused', async () => {
    const fd = device('zt-fd-counted');
    await fixture.platform.store.blockFactoryCertificate({
      manufacturerCaId: ca.id,
      serial: fd.serial,
      reason: 'test',
      blockedOn: Date.now(),
      blockedBy: 'test',
    });
    const guard = fixture.platform.provisionBroker.guard;
    const sizeBefore = guard.size;
    assert.equal(await factoryConnack(fixture, fd), 5);
    assert.ok(guard.size > sizeBefore, 'the refusal made buckets for its pair and clientId');
    const refused = await fixture.platform.store.listAudit({ clientId: fd.clientId, type: 'connect.refused' });
    assert.equal(refused.items[0]?.detail['code'], 'FACTORY_CERTIFICATE_BLOCKED');
  });

  // Last: it disables the CA the other cases use.
  it('refuses at once a device whose CA was disabled and its sessions ended, not after the CA list kept by the broker ages', async () => {
    const store = fixture.platform.store;
    const fd = device('zt-fd-ca-off');
    const live = await connectFactory(fixture, fd); // the broker now holds the CA list, with the CA enabled
    try {
      const current = (await store.getManufacturerCa(ca.id))!;
      await store.updateManufacturerCa(ca.id, current.version, { enabled: false });
      await fixture.platform.sessions.endSessions({ kind: 'manufacturer-ca', manufacturerCaId: ca.id, cause: 'disabled' });
      await closed(live);
    } finally {
      await live.endAsync();
    }
    assert.equal(await expectRefused(fd, 5, 'CERTIFICATE_INVALID'), 'its manufacturer CA is disabled');
  });
});

describe('provision broker: factory refusals lock out like wrong passwords', () => {
  let fixture: TestPlatform;
  before(async () => {
    fixture = await startTestPlatform({ authFailureLimit: 2, authAddressFailureLimit: 1000, authLockoutSeconds: 300 });
  });
  after(() => fixture.close());

  it('locks the (clientId, address) pair out after failureLimit refusals: CONNACK 5 CONNECT_LOCKED_OUT', async () => {
    const stranger = makeManufacturerCa('Lockout Stranger CA');
    const fd = issueFactoryCertificate(stranger, 'zt-fd-lock', 3);
    assert.equal(await factoryConnack(fixture, fd), 5);
    assert.equal(await factoryConnack(fixture, fd), 5);
    const from = fixture.logText().length;
    assert.equal(await factoryConnack(fixture, fd), 5);
    assert.equal(refusalLogged(fixture, fd.clientId, from)?.code, 'CONNECT_LOCKED_OUT');
  });
});
