import { verifyReplyStatement } from '../agent-sim/reply-verification.ts';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { checkChain } from '../protocol/certificate-chain.ts';
import { createCertificateSigningRequest } from '../protocol/csr.ts';
import { decodeProvisionResult } from '../protocol/messages.ts';
import { verifyBodySignature } from '../protocol/signing.ts';
import { connackOf, createAccountAndRequest, startTestPlatform, testAdminToken, type TestPlatform } from './support/platform-fixture.ts';
import { listenForReplies, reportCompletion, requestProvisioning } from './support/device-exchange.ts';

/** The return code of each filter in the SUBACK (mqtt.js rejects when one is 0x80: read the packet). */
async function subackCodes(client: import('mqtt').MqttClient, filters: string[]): Promise<number[]> {
  try {
    const granted = await client.subscribeAsync(filters, { qos: 1 });
    return granted.map((grant) => grant.qos);
  } catch (error) {
    const packet = (error as { packet?: { granted?: number[] } }).packet;
    if (!packet?.granted) throw error;
    return packet.granted.map((code) => Number(code));
  }
}

describe('provisioning over MQTT/TLS', () => {
  let fixture: TestPlatform;
  before(async () => {
    fixture = await startTestPlatform();
  });
  after(() => fixture.close());

  async function connect(request: { clientId: string; username: string; password: string }) {
    return fixture.connectProvision({ clientId: request.clientId, username: request.username, password: request.password });
  }

  it("Should not let device A subscribe to device B's replies (SUBACK 0x80)", async () => {
    const a = await createAccountAndRequest(fixture, 'acl-a');
    await createAccountAndRequest(fixture, 'acl-b');
    const client = await connect(a);
    try {
      const granted = await subackCodes(client, [
        '$EDC/provisioning/acl-b/PROV-V1/REPLY/+',
        '$EDC/provisioning/+/PROV-V1/REPLY/+',
        '#',
        '$EDC/#',
        '$SYS/#',
        '$EDC/provisioning/acl-a/PROV-V1/REPLY/+',
      ]);
      assert.deepEqual(granted, [128, 128, 128, 128, 128, 1]);
      assert.ok(client.connected, 'a refused subscription leaves the connection up');
    } finally {
      await client.endAsync();
    }
  });

  it('closes the connection of a device publishing outside its namespace', async () => {
    const a = await createAccountAndRequest(fixture, 'acl-pub');
    const client = await connect(a);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish('$EDC/provisioning/someone-else/PROV-V1/EXEC/provision', '{}', { qos: 1 });
    await closed;
    await client.endAsync(true);
  });

  it('Should answer a wrong activation key with 401 and count the attempt', async () => {
    const request = await createAccountAndRequest(fixture, 'key-wrong', { generateActivationKey: true });
    const client = await connect(request);
    try {
      const replyTo = await listenForReplies(client, request.clientId);
      await requestProvisioning(client, request.clientId, 'r-1', { activationKey: 'A'.repeat(32) });
      const reply = await replyTo('r-1');
      assert.equal(reply.responseCode, 401);
      assert.match(reply.message ?? '', /ACTIVATION_KEY_INVALID/);
      // Signed like every reply, so an injected 401 on plain TCP cannot make a device give up (PROTOCOL.md §6).
      const statement = verifyReplyStatement(reply, { trustedRootPem: fixture.rootPem, caAuthentication: true, clientId: request.clientId, requestId: 'r-1' });
      assert.equal(statement.responseCode, 401);
      const stored = await fixture.platform.store.getProvisionRequest(request.id);
      assert.equal(stored?.retryCount, 1);
    } finally {
      await client.endAsync();
    }
  });

  it('Should answer a malformed request with 400 and a CSR for another device with 400', async () => {
    const request = await createAccountAndRequest(fixture, 'bad-input');
    const client = await connect(request);
    try {
      const replyTo = await listenForReplies(client, request.clientId);
      await client.publishAsync(
        '$EDC/provisioning/bad-input/PROV-V1/EXEC/provision',
        JSON.stringify({ sentOn: 1, metrics: { 'request.id': 'm-1', 'requester.client.id': 'bad-input', unexpected: true } }),
        { qos: 1 },
      );
      assert.equal((await replyTo('m-1')).responseCode, 400);
      const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      await requestProvisioning(client, request.clientId, 'm-2', { csr: createCertificateSigningRequest('another-device', key) });
      const reply = await replyTo('m-2');
      assert.equal(reply.responseCode, 400);
      assert.match(reply.message ?? '', /CSR_SUBJECT_MISMATCH/);
    } finally {
      await client.endAsync();
    }
  });

  it('provisions a device end to end: signed reply, valid chain, configuration hash, bundles; then the credentials are used up', async () => {
    const bundleContent = Buffer.from('application bundle bytes '.repeat(100));
    const account = await fixture.api<{ id: string }>('POST', '/accounts', {
      name: 'bundled',
      configurationTemplate: { 'cloud.endpoint': '${brokerUrl}', device: '${clientId}' },
    });
    const upload = await fetch(`${fixture.apiUrl}/bundles?accountId=${account.body.id}&name=telemetry&version=1.2.0`, {
      method: 'POST',
      headers: { authorization: `Bearer ${testAdminToken}`, 'content-type': 'application/octet-stream' },
      body: bundleContent,
    });
    assert.equal(upload.status, 201);
    const bundle = (await upload.json()) as { id: string; sha256: string };
    const request = await createAccountAndRequest(fixture, 'e2e-dev-1', {
      account: 'bundled',
      generateActivationKey: true,
      extra: { bundleIds: [bundle.id] },
    });
    const deviceKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const client = await connect(request);
    let resultHash: string;
    try {
      const replyTo = await listenForReplies(client, request.clientId);
      await requestProvisioning(client, request.clientId, 'req-1', {
        activationKey: request.activationKey!,
        csr: createCertificateSigningRequest(request.clientId, deviceKey),
      });
      const reply = await replyTo('req-1');
      assert.equal(reply.responseCode, 200, reply.message);
      assert.ok(reply.body && reply.signature && reply.signatureAlgorithm);
      const result = decodeProvisionResult(reply.body);

      // The signature verifies over the exact body bytes with the signing certificate, which chains to the root.
      assert.ok(verifyBodySignature(reply.body, reply.signature, reply.signatureAlgorithm, result.certificates.signing));
      const tampered = Buffer.from(reply.body);
      tampered[10] = tampered[10]! ^ 1;
      assert.ok(!verifyBodySignature(tampered, reply.signature, reply.signatureAlgorithm, result.certificates.signing));
      assert.deepEqual(checkChain(result.certificates.signing, result.certificates.chain, fixture.rootPem), { ok: true });

      // The client certificate: our key, CN = clientId, O = account, chaining to the root.
      assert.deepEqual(checkChain(result.certificates.client, result.certificates.chain, fixture.rootPem), { ok: true });
      const certificate = new X509Certificate(result.certificates.client);
      assert.match(certificate.subject, /CN=e2e-dev-1/);
      assert.match(certificate.subject, /O=bundled/);
      assert.ok(
        certificate.publicKey
          .export({ type: 'spki', format: 'der' })
          .equals(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' })) === false,
      );
      assert.equal(result.certificates.clientKey, undefined, 'no key is sent when the device sent a CSR');

      // The configuration: the account template filled in, and its hash.
      const configuration = JSON.parse(result.configuration.content) as Record<string, string>;
      assert.equal(configuration['device'], 'e2e-dev-1');
      assert.equal(configuration['cloud.endpoint'], result.next.brokerUrl);
      assert.equal(createHash('sha256').update(result.configuration.content).digest('hex'), result.configuration.sha256);
      resultHash = result.configuration.sha256;

      // The bundle downloads, without a bearer token, with the right sha256.
      assert.equal(result.bundles.length, 1);
      const download = await fetch(result.bundles[0]!.url);
      assert.equal(download.status, 200);
      const downloaded = Buffer.from(await download.arrayBuffer());
      assert.equal(createHash('sha256').update(downloaded).digest('hex'), result.bundles[0]!.sha256);
      assert.equal(result.bundles[0]!.sha256, bundle.sha256);

      assert.equal(result.next.account, 'bundled');
      assert.match(result.next.brokerUrl, /^mqtts:\/\/localhost:\d+$/);

      await reportCompletion(client, request.clientId, 'req-2', 'req-1', resultHash);
      const done = await replyTo('req-2');
      assert.equal(done.responseCode, 200, done.message);
    } finally {
      await client.endAsync();
    }
    const stored = await fixture.platform.store.getProvisionRequest(request.id);
    assert.equal(stored?.jobStatus, 'COMPLETED');
    assert.equal(stored?.status, 'DISABLED');
    assert.equal(
      await connackOf(fixture.connectProvision({ clientId: request.clientId, username: request.username, password: request.password })),
      4,
      'the provisioning credentials are used up',
    );
    const audit = await fixture.api<{ items: { type: string }[] }>('GET', `/audit-events?provisionRequestId=${request.id}&limit=100`);
    const types = audit.body.items.map((event) => event.type);
    for (const type of ['provision.started', 'certificate.issued', 'provision.conf_updated', 'provision.apps_installed', 'provision.completed']) {
      assert.ok(types.includes(type), `audit lacks ${type}: ${types.join(', ')}`);
    }
    assert.ok(!fixture.logText().includes(request.password));
    assert.ok(!fixture.logText().includes(request.activationKey!));
  });

  it('gives the same certificate and key when a device repeats a request.id, and revokes the unused one on a new attempt', async () => {
    const request = await createAccountAndRequest(fixture, 'idem-1');
    const client = await connect(request);
    try {
      const replyTo = await listenForReplies(client, request.clientId);
      await requestProvisioning(client, request.clientId, 'same-1');
      const first = decodeProvisionResult((await replyTo('same-1')).body!);
      assert.ok(first.certificates.clientKey, 'the platform made the key');
      const secondReply = replyTo('same-1');
      await requestProvisioning(client, request.clientId, 'same-1');
      const second = decodeProvisionResult((await secondReply).body!);
      assert.equal(second.certificates.client, first.certificates.client);
      assert.equal(second.certificates.clientKey, first.certificates.clientKey);

      await requestProvisioning(client, request.clientId, 'new-2');
      const third = decodeProvisionResult((await replyTo('new-2')).body!);
      assert.notEqual(third.certificates.client, first.certificates.client);
    } finally {
      await client.endAsync();
    }
    const certificates = await fixture.api<{ items: { serial: string; status: string }[] }>('GET', '/certificates?clientId=idem-1');
    assert.deepEqual(certificates.body.items.map((c) => c.status).sort(), ['REVOKED', 'VALID']);
  });

  it('Should answer 409 once the request has used up its attempts', async () => {
    const request = await createAccountAndRequest(fixture, 'attempts-1', { extra: { retryMaxAttempts: 1 } });
    const client = await connect(request);
    try {
      const replyTo = await listenForReplies(client, request.clientId);
      await requestProvisioning(client, request.clientId, 'a-1');
      assert.equal((await replyTo('a-1')).responseCode, 200);
      await requestProvisioning(client, request.clientId, 'a-2');
      const reply = await replyTo('a-2');
      assert.equal(reply.responseCode, 409);
      assert.match(reply.message ?? '', /RETRIES_EXHAUSTED/);
    } finally {
      await client.endAsync();
    }
  });

  it('takes a session over on a second CONNECT with the same clientId without provisioning twice', async () => {
    const request = await createAccountAndRequest(fixture, 'takeover-1');
    const first = await connect(request);
    const firstClosed = new Promise<void>((resolve) => first.once('close', () => resolve()));
    const second = await connect(request);
    await firstClosed;
    await first.endAsync(true);
    try {
      const replyTo = await listenForReplies(second, request.clientId);
      await requestProvisioning(second, request.clientId, 't-1');
      assert.equal((await replyTo('t-1')).responseCode, 200);
      await requestProvisioning(second, request.clientId, 't-1');
      assert.equal((await replyTo('t-1')).responseCode, 200);
    } finally {
      await second.endAsync();
    }
    const certificates = await fixture.api<{ total: number }>('GET', '/certificates?clientId=takeover-1');
    assert.equal(certificates.body.total, 1);
  });
});

describe('provisioner under load', () => {
  it('answers 429 with retry.after.seconds beyond its in-flight limit', async () => {
    const fixture = await startTestPlatform({ provisionerMaxInFlight: 1 });
    try {
      const request = await createAccountAndRequest(fixture, 'busy-1');
      const client = await fixture.connectProvision({ clientId: request.clientId, username: request.username, password: request.password });
      try {
        const replyTo = await listenForReplies(client, request.clientId);
        const ids = Array.from({ length: 12 }, (_, i) => `burst-${i}`);
        await Promise.all(ids.map((id) => requestProvisioning(client, request.clientId, id)));
        const replies = await Promise.all(ids.map((id) => replyTo(id).catch(() => null)));
        const busy = replies.filter((reply) => reply?.responseCode === 429);
        assert.ok(busy.length > 0, `some of ${replies.map((r) => r?.responseCode).join()} should be 429`);
        assert.equal(busy[0]!.retryAfterSeconds, 1);
      } finally {
        await client.endAsync();
      }
    } finally {
      await fixture.close();
    }
  });
});
