import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { MqttClient } from 'mqtt';
import { verifyRenewalReply } from '../agent-sim/reply-verification.ts';
import { startCluster, type Cluster } from '../dev-support/cluster.ts';
import { createCsr, type TestCsr } from '../dev-support/csr.ts';
import { startRedisOrSkip, type RedisServer } from '../dev-support/redis-server.ts';
import { type ReplyMessage } from '../protocol/messages.ts';
import { encodeRenewalRequest, renewalRequestTopic } from '../protocol/renewal.ts';
import { connackOf } from './support/platform-fixture.ts';
import { collectRenewalReplies, connectAccount, provisionOverMqtt, type WireProvisioned } from './support/wire-provisioning.ts';

/**
 * CERT-V1 renewal (docs/PROTOCOL.md §13) on a two-broker cluster on Redis: a device renews on
 * broker-1 and uses its new certificate on broker-2; the old certificate is then revoked
 * (superseded) and refused by both brokers at once, and its session still open on broker-1 ends.
 * A repeat of the same request.id handled by the other broker process gets the same certificate.
 *
 * In the first case aedes also closes the broker-1 session when broker-2 accepts the same
 * clientId (its cross-broker takeover), so that case cannot tell which ended it; the grace case
 * has no second connection: there only the revocation notice, from whichever broker process's
 * sweep settles the renewal, ends the session.
 */

const account = 'c-renew';
/** docs/SECURITY.md, Defences: a revocation ends live sessions "in a cluster, within 2 s". */
const statedBoundMs = 2000;
/** PROVISIO_CERTIFICATE_RENEWAL_GRACE_SECONDS of the cluster: short, for the grace case (the others use the new certificate at once). */
const graceSeconds = 6;

interface CertificateView {
  readonly serial: string;
  readonly status: string;
  readonly revocationReason: string | null;
  readonly renewsSerial: string | null;
  readonly renewalRequestId: string | null;
  readonly renewalSettledOn: string | null;
}

interface RenewingSession {
  readonly client: MqttClient;
  renew(requestId: string, csrPem: string): Promise<ReplyMessage>;
}

describe('certificate renewal on a two-broker cluster', () => {
  let redis: RedisServer | null;
  let cluster: Cluster | undefined;
  let rootPem: string;
  let accountId: string;
  let accountUrls: string[];
  const clients: MqttClient[] = [];

  before(async () => {
    redis = await startRedisOrSkip();
    if (!redis) return;
    cluster = await startCluster({
      redisUrl: redis.url,
      brokers: 2,
      provisioners: 1,
      env: { PROVISIO_CERTIFICATE_RENEWAL_GRACE_SECONDS: String(graceSeconds), PROVISIO_CERTIFICATE_RENEWAL_SWEEP_INTERVAL_SECONDS: '1' },
    });
    rootPem = await readFile(cluster.rootCaFile, 'utf8');
    accountUrls = ['broker-1', 'broker-2'].map((name) => `mqtts://localhost:${cluster!.byName(name).endpoints['accountMqtts']}`);
    const created = await cluster.api<{ id: string }>('POST', '/accounts', { name: account });
    assert.equal(created.status, 201, created.text);
    accountId = created.body.id;
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.endAsync(true)));
    await cluster?.close();
    await redis?.stop();
  });

  async function provisioned(clientId: string): Promise<WireProvisioned> {
    const created = await cluster!.api<{ id: string; credentials: { username: string; password: string } }>('POST', '/provision-requests', {
      accountId,
      clientId,
    });
    assert.equal(created.status, 201, created.text);
    return provisionOverMqtt({ provisionUrl: cluster!.provisionUrls[0]!, rootPem, clientId, ...created.body.credentials, requestId: `${clientId}-1` });
  }

  /** Online on the given broker with these credentials, subscribed to its CERT-V1 topics before anything else (§13). */
  async function onBroker(brokerIndex: number, clientId: string, credentials: Pick<WireProvisioned, 'certPem' | 'keyPem'>): Promise<RenewingSession> {
    const client = await connectAccount(accountUrls[brokerIndex]!, rootPem, clientId, credentials);
    clients.push(client);
    const replies = await collectRenewalReplies(client, account, clientId);
    return {
      client,
      async renew(requestId, csrPem) {
        replies.forget(requestId);
        const reply = replies.replyTo(requestId, 15_000, () => cluster!.logs());
        await client.publishAsync(renewalRequestTopic(account, clientId), encodeRenewalRequest({ requestId, requesterClientId: clientId, csr: csrPem }), {
          qos: 1,
        });
        return reply;
      },
    };
  }

  function renewed(reply: ReplyMessage, clientId: string, requestId: string, key: TestCsr): { certPem: string; keyPem: string; serial: string } {
    assert.equal(reply.responseCode, 200, reply.message);
    const result = verifyRenewalReply(reply, { trustedRootPem: rootPem, caAuthentication: true, clientId, requestId, account, newKey: key.privateKey });
    return { certPem: result.certificates.client, keyPem: key.keyPem, serial: new X509Certificate(result.certificates.client).serialNumber.toLowerCase() };
  }

  async function certificatesOf(clientId: string): Promise<Map<string, CertificateView>> {
    const page: { status: number; text: string; body: { items: CertificateView[] } } = await cluster!.api('GET', `/certificates?clientId=${clientId}`);
    assert.equal(page.status, 200, page.text);
    return new Map(page.body.items.map((item) => [item.serial, item]));
  }

  function closedWithin(client: MqttClient, boundMs: number): Promise<void> {
    if (client.disconnected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`still connected ${boundMs} ms on\n${cluster!.logs()}`)), boundMs);
      client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  it('renewed on broker-1, the new certificate used on broker-2 revokes the old one: refused by both brokers at once, its session on broker-1 ended', async (t) => {
    if (!cluster) return t.skip('redis-server is not installed');
    const clientId = 'crn-moves';
    const device = await provisioned(clientId);
    const old = await onBroker(0, clientId, device);
    const key = createCsr({ commonName: clientId });
    const next = renewed(await old.renew('renew-1', key.csrPem), clientId, 'renew-1', key);
    // Until the new certificate is used, the old one works on either broker.
    assert.equal((await certificatesOf(clientId)).get(device.serial)?.status, 'VALID');
    const oldSessionEnded = closedWithin(old.client, statedBoundMs);

    const moved = await onBroker(1, clientId, next);
    // At once, no retry: the renewal was settled before broker-2's CONNACK, in the shared store.
    const refusals = await Promise.all(accountUrls.map((url) => connackOf(connectAccount(url, rootPem, clientId, device))));
    assert.deepEqual(refusals, [5, 5], 'the old certificate on broker-1 and on broker-2');
    await oldSessionEnded;

    const certificates = await certificatesOf(clientId);
    assert.equal(certificates.get(device.serial)?.status, 'REVOKED');
    assert.match(certificates.get(device.serial)?.revocationReason ?? '', /^superseded/);
    const renewal = certificates.get(next.serial);
    assert.equal(renewal?.status, 'VALID');
    assert.equal(renewal?.renewsSerial, device.serial);
    assert.equal(renewal?.renewalRequestId, 'renew-1');
    assert.ok(renewal?.renewalSettledOn, 'the renewal is settled');
    // The new session is untouched by the refused attempts, and the new certificate works on broker-1 too.
    await moved.client.publishAsync(`${account}/${clientId}/telemetry`, 'on the new certificate', { qos: 1 });
    assert.equal(await connackOf(connectAccount(accountUrls[0]!, rootPem, clientId, next)), 0);
  });

  it('ends the session still open with the old certificate when the grace ends, and refuses that certificate on both brokers', async (t) => {
    if (!cluster) return t.skip('redis-server is not installed');
    const clientId = 'crn-grace';
    const device = await provisioned(clientId);
    const old = await onBroker(0, clientId, device);
    const key = createCsr({ commonName: clientId });
    const next = renewed(await old.renew('renew-1', key.csrPem), clientId, 'renew-1', key);
    // The device never uses the new certificate: the sweep (every second, in each broker process) settles the renewal after the grace.
    await closedWithin(old.client, (graceSeconds + 1) * 1000 + statedBoundMs);
    const refusals = await Promise.all(accountUrls.map((url) => connackOf(connectAccount(url, rootPem, clientId, device))));
    assert.deepEqual(refusals, [5, 5], 'the old certificate on broker-1 and on broker-2');
    const certificates = await certificatesOf(clientId);
    assert.match(certificates.get(device.serial)?.revocationReason ?? '', /^superseded: renewal grace period ended/);
    assert.ok(certificates.get(next.serial)?.renewalSettledOn, 'the renewal is settled');
    assert.equal(await connackOf(connectAccount(accountUrls[1]!, rootPem, clientId, next)), 0, 'the new certificate works');
  });

  it('answers a repeat of the same request.id handled by the other broker process with the same certificate', async (t) => {
    if (!cluster) return t.skip('redis-server is not installed');
    const clientId = 'crn-repeats';
    const device = await provisioned(clientId);
    const first = await onBroker(0, clientId, device);
    const key = createCsr({ commonName: clientId });
    const answered = renewed(await first.renew('renew-1', key.csrPem), clientId, 'renew-1', key);
    // The reply was lost; the device comes back with its old certificate, to the other broker.
    await first.client.endAsync();
    const again = await onBroker(1, clientId, device);
    const repeated = renewed(await again.renew('renew-1', key.csrPem), clientId, 'renew-1', key);
    assert.equal(repeated.serial, answered.serial, 'the same certificate from broker-2');
    assert.equal(repeated.certPem, answered.certPem);
    assert.deepEqual([...(await certificatesOf(clientId)).keys()].sort(), [device.serial, answered.serial].sort(), 'no second certificate issued');
    const otherKey = await again.renew('renew-1', createCsr({ commonName: clientId }).csrPem);
    assert.equal(otherKey.responseCode, 422, otherKey.message);
    assert.equal(await connackOf(connectAccount(accountUrls[0]!, rootPem, clientId, repeated)), 0);
  });
});
