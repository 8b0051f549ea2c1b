import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomUUID, X509Certificate, type KeyObject } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { verifyRenewalReply, verifyReplyStatement } from '../agent-sim/reply-verification.ts';
import { createCsr, type TestCsr } from '../dev-support/csr.ts';
import { startRedisOrSkip, type RedisServer } from '../dev-support/redis-server.ts';
import { decodeReply, type ReplyMessage } from '../protocol/messages.ts';
import { encodeRenewalRequest, renewalRequestTopic, type RenewalResult } from '../protocol/renewal.ts';
import { connackOf, createAccountAndRequest, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { collectRenewalReplies, connectAccount, provisionOverMqtt, type WireProvisioned } from './support/wire-provisioning.ts';
import type { PlatformConfig } from '../config/config.ts';

/**
 * CERT-V1 on the platform (issue 14 §1, docs/PROTOCOL.md §13), over real TLS with mqtt.js and
 * real CSRs: a device provisioned by the wire protocol renews on its account broker; both
 * certificates open the account broker until the new one is used; a lost reply is repeated; the
 * old certificate is revoked at the first CONNECT with the new one or when the grace ends.
 */

const account = 'acme';
const share = 0.67;

const redis: RedisServer | null = await startRedisOrSkip();
after(() => redis?.stop());

function backendSettings(backend: 'sqlite' | 'redis'): Partial<PlatformConfig> {
  if (backend === 'sqlite') return {};
  if (!redis) throw new Error('redis-server missing');
  return { storeBackend: 'redis', redisUrl: redis.url, redisKeyPrefix: `renewal-${randomUUID()}:` };
}

interface AccountDevice {
  readonly client: MqttClient;
  /** The reply to a renewal request, once it comes (bounded). */
  replyTo(requestId: string, timeoutMs?: number): Promise<ReplyMessage>;
  renew(requestId: string, csrPem: string): Promise<ReplyMessage>;
  /** Resolves when the connection closes. */
  readonly closed: Promise<void>;
}

/** A device on its account broker, subscribed to its CERT-V1 topics before it publishes anything there (§13). */
async function onAccountBroker(fixture: TestPlatform, clientId: string, credentials: Pick<WireProvisioned, 'certPem' | 'keyPem'>): Promise<AccountDevice> {
  const client = await connectAccount(`mqtts://localhost:${fixture.platform.accountBroker.mqttsPort}`, fixture.rootPem, clientId, credentials);
  const { replyTo } = await collectRenewalReplies(client, account, clientId);
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  return {
    client,
    replyTo,
    closed,
    async renew(requestId, csrPem) {
      const reply = replyTo(requestId);
      await client.publishAsync(renewalRequestTopic(account, clientId), encodeRenewalRequest({ requestId, requesterClientId: clientId, csr: csrPem }), {
        qos: 1,
      });
      return reply;
    },
  };
}

async function provisioned(fixture: TestPlatform, clientId: string): Promise<WireProvisioned> {
  const request = await createAccountAndRequest(fixture, clientId, { account });
  return provisionOverMqtt({
    provisionUrl: `mqtts://localhost:${fixture.platform.provisionBroker.mqttsPort}`,
    rootPem: fixture.rootPem,
    clientId,
    username: request.username,
    password: request.password,
    requestId: 'provision-1',
  });
}

function accountConnack(fixture: TestPlatform, clientId: string, credentials: Pick<WireProvisioned, 'certPem' | 'keyPem'>): Promise<number> {
  return connackOf(connectAccount(`mqtts://localhost:${fixture.platform.accountBroker.mqttsPort}`, fixture.rootPem, clientId, credentials));
}

/** The 200 checked as an agent checks it (§7 signature and chain, the new certificate for the new key), then read. */
function verifiedRenewal(fixture: TestPlatform, reply: ReplyMessage, clientId: string, requestId: string, newKey: KeyObject): RenewalResult {
  assert.equal(reply.responseCode, 200, reply.message);
  return verifyRenewalReply(reply, { trustedRootPem: fixture.rootPem, caAuthentication: true, clientId, requestId, account, newKey });
}

function serialOf(pem: string): string {
  return new X509Certificate(pem).serialNumber.toLowerCase();
}

/** Polls a condition (bounded): for store facts that a CONNECT or sweep sets just before or after CONNACK. */
async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

for (const backend of ['sqlite', 'redis'] as const) {
  describe(`certificate renewal on the account broker (${backend})`, { skip: backend === 'redis' && !redis ? 'redis-server is not installed' : false }, () => {
    let fixture: TestPlatform;
    before(async () => {
      fixture = await startTestPlatform({ ...backendSettings(backend), certificateRenewalBurst: 50 });
    });
    after(() => fixture?.platform.close());

    it('tells the renewal window in the provision result: after two thirds of the validity', async () => {
      const device = await provisioned(fixture, `window-${backend}`);
      const certificate = new X509Certificate(device.certPem);
      const notAfter = new Date(certificate.validTo).getTime();
      const issuedOn = device.result.issuedOn;
      assert.ok(issuedOn >= new Date(certificate.validFrom).getTime(), 'issuedOn is not the backdated notBefore');
      assert.deepEqual(device.result.renewal, { after: Math.round(issuedOn + share * (notAfter - issuedOn)), notAfter });
    });

    it('renews: a signed 200 with a new certificate for the new key; a lost reply is repeated with the same certificate; the old certificate works until the new one is used, then it is refused', async () => {
      const clientId = `renewing-${backend}`;
      const device = await provisioned(fixture, clientId);
      const old = await onAccountBroker(fixture, clientId, device);
      const key: TestCsr = createCsr({ commonName: clientId });

      const reply = await old.renew('renew-1', key.csrPem);
      const result = verifiedRenewal(fixture, reply, clientId, 'renew-1', key.privateKey);
      const renewed = { certPem: result.certificates.client, keyPem: key.keyPem };
      const newSerial = serialOf(renewed.certPem);
      assert.notEqual(newSerial, device.serial);
      const certificate = new X509Certificate(renewed.certPem);
      assert.equal(certificate.subject, `O=${account}\nCN=${clientId}`);
      assert.deepEqual(result.renewal, {
        after: Math.round(result.issuedOn + share * (result.renewal.notAfter - result.issuedOn)),
        notAfter: new Date(certificate.validTo).getTime(),
      });
      assert.deepEqual(result.certificates.chain, [fixture.platform.ca.issuingCertificatePem, fixture.platform.ca.rootCertificatePem]);

      // The reply was lost: the same request.id and CSR get the same certificate, signed again.
      const repeated = verifiedRenewal(fixture, await old.renew('renew-1', key.csrPem), clientId, 'renew-1', key.privateKey);
      assert.equal(serialOf(repeated.certificates.client), newSerial);
      const { store } = fixture.platform;
      assert.equal((await store.listClientCertificates(clientId)).length, 2, 'no second certificate issued for a repeat');

      // Until the new certificate is used, the old one still opens the account broker.
      await old.client.endAsync();
      assert.equal(await accountConnack(fixture, clientId, device), 0);
      assert.equal((await store.getCertificate(device.serial))?.status, 'VALID');

      assert.equal(await accountConnack(fixture, clientId, renewed), 0);
      const revoked = await store.getCertificate(device.serial);
      assert.equal(revoked?.status, 'REVOKED');
      assert.match(revoked?.revocationReason ?? '', /^superseded/);
      const record = await store.getDevice((await store.getAccountByName(account))!.id, clientId);
      assert.equal(record?.certificateSerial, newSerial);
      assert.equal(record?.certificateNotAfter, Date.parse(new X509Certificate(renewed.certPem).validTo), 'the registry shows the new expiry');
      assert.equal(await accountConnack(fixture, clientId, device), 5, 'the old certificate is refused once the new one was used');
      assert.equal(await accountConnack(fixture, clientId, renewed), 0, 'the new certificate keeps working');
    });

    it('issues one certificate for two copies of one request sent at once (a QoS 1 duplicate): both replies carry it', async () => {
      const clientId = `duplicated-${backend}`;
      const device = await provisioned(fixture, clientId);
      const session = await onAccountBroker(fixture, clientId, device);
      const key = createCsr({ commonName: clientId });
      const request = encodeRenewalRequest({ requestId: 'twice', requesterClientId: clientId, csr: key.csrPem });
      const serials = new Set<string>();
      let replies = 0;
      const collected = new Promise<void>((resolve) => {
        session.client.on('message', (topic, payload) => {
          if (!topic.endsWith('/CERT-V1/REPLY/twice')) return;
          serials.add(serialOf(verifiedRenewal(fixture, decodeReply(payload), clientId, 'twice', key.privateKey).certificates.client));
          if (++replies === 2) resolve();
        });
      });
      const topic = renewalRequestTopic(account, clientId);
      await Promise.all([session.client.publishAsync(topic, request, { qos: 1 }), session.client.publishAsync(topic, request, { qos: 1 })]);
      await collected; // bounded by the test's timeout
      assert.equal(serials.size, 1, `one certificate in both replies, not ${[...serials].join(', ')}`);
      const renewals = (await fixture.platform.store.listClientCertificates(clientId)).filter((certificate) => certificate.renewalRequestId === 'twice');
      assert.deepEqual(
        renewals.map((certificate) => certificate.serial),
        [...serials],
        'one certificate recorded',
      );
      await session.client.endAsync();
    });

    it('answers 422 to a repeated request.id with another key, and 400 to a CSR for the current key or another CN', async () => {
      const clientId = `refused-${backend}`;
      const device = await provisioned(fixture, clientId);
      const session = await onAccountBroker(fixture, clientId, device);
      const trust = { trustedRootPem: fixture.rootPem, caAuthentication: true, clientId };
      const first = createCsr({ commonName: clientId });
      verifiedRenewal(fixture, await session.renew('attempt-1', first.csrPem), clientId, 'attempt-1', first.privateKey);

      const changed = await session.renew('attempt-1', createCsr({ commonName: clientId }).csrPem);
      assert.equal(changed.responseCode, 422);
      assert.match(verifyReplyStatement(changed, { ...trust, requestId: 'attempt-1' }).message ?? '', /^ATTEMPT_KEY_CHANGED/);

      const currentKey = await session.renew('same-key', createCsr({ commonName: clientId, privateKey: createPrivateKey(device.keyPem) }).csrPem);
      assert.equal(currentKey.responseCode, 400);
      assert.match(verifyReplyStatement(currentKey, { ...trust, requestId: 'same-key' }).message ?? '', /^CSR_INVALID: .*current certificate/);

      const otherName = await session.renew('other-cn', createCsr({ commonName: 'someone-else' }).csrPem);
      assert.equal(otherName.responseCode, 400);
      assert.match(verifyReplyStatement(otherName, { ...trust, requestId: 'other-cn' }).message ?? '', /^CSR_SUBJECT_MISMATCH/);
      await session.client.endAsync();
    });

    it('revokes an unused renewal when the device renews again, and the published CRL lists it at once', async () => {
      const clientId = `renewed-twice-${backend}`;
      const device = await provisioned(fixture, clientId);
      const session = await onAccountBroker(fixture, clientId, device);
      const lost = createCsr({ commonName: clientId });
      const unused = verifiedRenewal(fixture, await session.renew('lost-1', lost.csrPem), clientId, 'lost-1', lost.privateKey);
      const crlUrl = `http://localhost:${fixture.platform.http.port}/crl/issuing-ca.crl`;
      const publishedCrl = async (): Promise<string> => {
        const response = await fetch(crlUrl, { headers: { 'cache-control': 'max-age=0' } });
        assert.equal(response.status, 200);
        return execFileSync('openssl', ['crl', '-inform', 'DER', '-noout', '-text'], { input: Buffer.from(await response.arrayBuffer()) }).toString();
      };
      const unusedSerial = serialOf(unused.certificates.client);
      const listsUnused = new RegExp(`Serial Number: 0*${unusedSerial.replace(/^0+/, '')}`, 'i');
      // The platform signs a CRL now and keeps it: the revocation below must make it sign again.
      assert.doesNotMatch(await publishedCrl(), listsUnused);

      const again = createCsr({ commonName: clientId });
      verifiedRenewal(fixture, await session.renew('again-2', again.csrPem), clientId, 'again-2', again.privateKey);
      await session.client.endAsync();

      assert.equal((await fixture.platform.store.getCertificate(unusedSerial))?.status, 'REVOKED');
      assert.match(await publishedCrl(), listsUnused, 'the unused renewal is on the CRL without waiting for its refresh');
      assert.equal(
        await accountConnack(fixture, clientId, {
          certPem: unused.certificates.client,
          keyPem: lost.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        }),
        5,
      );
    });
  });
}

describe('certificate renewal limits and grace', () => {
  let fixture: TestPlatform;
  before(async () => {
    fixture = await startTestPlatform({
      certificateRenewalBurst: 2,
      certificateRenewalsPerHour: 1,
      certificateRenewalGraceSeconds: 1,
      certificateRenewalSweepIntervalSeconds: 1,
      deviceCertValiditySeconds: 600,
    });
  });
  after(() => fixture?.platform.close());

  it('issues certificates of the configured validity in seconds', async () => {
    const device = await provisioned(fixture, 'short-lived');
    const certificate = new X509Certificate(device.certPem);
    // 600 s from the issue, which is 5 minutes after notBefore (clock skew).
    assert.equal((new Date(certificate.validTo).getTime() - new Date(certificate.validFrom).getTime()) / 1000, 600 + 300);
  });

  it('answers 429 with retry.after.seconds beyond the per-device burst', async () => {
    const clientId = 'flooding';
    const device = await provisioned(fixture, clientId);
    const session = await onAccountBroker(fixture, clientId, device);
    const codes: number[] = [];
    for (const requestId of ['flood-1', 'flood-2', 'flood-3']) {
      const reply = await session.renew(requestId, createCsr({ commonName: 'wrong-cn' }).csrPem);
      codes.push(reply.responseCode);
      if (reply.responseCode === 429) {
        const statement = verifyReplyStatement(reply, { trustedRootPem: fixture.rootPem, caAuthentication: true, clientId, requestId });
        assert.match(statement.message ?? '', /^OVERLOADED/);
        assert.ok((reply.retryAfterSeconds ?? 0) >= 1, 'retry.after.seconds is given');
      }
    }
    assert.deepEqual(codes, [400, 400, 429]);
    await session.client.endAsync();
  });

  it('revokes an unused renewal’s old certificate when the grace ends, and ends the session still open with it', async () => {
    const clientId = 'never-switches';
    const device = await provisioned(fixture, clientId);
    const session = await onAccountBroker(fixture, clientId, device);
    const key = createCsr({ commonName: clientId });
    const result = verifiedRenewal(fixture, await session.renew('renew-1', key.csrPem), clientId, 'renew-1', key.privateKey);
    const { store } = fixture.platform;
    await eventually(
      () => store.getCertificate(device.serial),
      (certificate) => certificate?.status === 'REVOKED',
      'the old certificate after the grace',
    );
    assert.match((await store.getCertificate(device.serial))?.revocationReason ?? '', /grace/);
    await session.closed; // ended by the revocation (bounded by the test's timeout)
    assert.equal(await accountConnack(fixture, clientId, device), 5);
    assert.equal(await accountConnack(fixture, clientId, { certPem: result.certificates.client, keyPem: key.keyPem }), 0);
    const renewal = await store.getCertificate(serialOf(result.certificates.client));
    assert.ok(renewal?.renewalSettledOn, 'the renewal is settled');
  });
});
