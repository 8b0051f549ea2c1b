import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { decodeProvisionResult, decodeReply, encodeProvisionComplete, encodeProvisionRequest, type ReplyMessage } from '../protocol/messages.ts';
import { provisionCompleteTopic, provisionRequestTopic, replyFilter } from '../protocol/topics.ts';
import { verifyReplyStatement } from '../agent-sim/reply-verification.ts';
import { createCsr, tamperCsrSignature } from '../dev-support/csr.ts';
import { createAccountAndRequest, startTestPlatform, type CreatedRequest, type TestPlatform } from './support/platform-fixture.ts';
import { publishOutcome, randomBytesFrom, seededRandom } from './support/security-kit.ts';

/**
 * Bad provisioning messages (docs/PROTOCOL.md §5, §6, §9): each gets its documented reply code,
 * or none when its request.id cannot be read, or a closed connection when it is over the size
 * limit or outside the device's namespace; and none of them changes the store.
 */
const pa = 'provisioning';

interface Snapshot {
  readonly version: number;
  readonly status: string;
  readonly jobStatus: string;
  readonly retryCount: number;
  readonly currentRequestId: string | null;
  readonly certificateSerial: string | null;
  readonly certificates: readonly string[];
}

describe('fuzzing the provisioning messages', () => {
  let fixture: TestPlatform;
  let device: CreatedRequest;
  let other: CreatedRequest;

  before(async () => {
    fixture = await startTestPlatform({ logLevel: 'warn', authFailureLimit: 1000, provisionMessageBurst: 1000 }); // one device sends every case
    device = await createAccountAndRequest(fixture, 'fp-dev', { generateActivationKey: true });
    other = await createAccountAndRequest(fixture, 'fp-other');
  });
  after(() => fixture.close());

  async function snapshot(request: CreatedRequest): Promise<Snapshot> {
    const stored = await fixture.platform.store.getProvisionRequest(request.id);
    assert.ok(stored);
    const certificates = await fixture.platform.store.listCertificates({ clientId: request.clientId, limit: 1000 });
    return {
      version: stored.version,
      status: stored.status,
      jobStatus: stored.jobStatus,
      retryCount: stored.retryCount,
      currentRequestId: stored.currentRequestId,
      certificateSerial: stored.certificateSerial,
      certificates: certificates.items.map((certificate) => `${certificate.serial}:${certificate.status}`).sort(),
    };
  }

  /** A connected device that records every reply it gets. */
  async function session(request: CreatedRequest): Promise<{ client: MqttClient; replies: ReplyMessage[]; replyTo(id: string): Promise<ReplyMessage> }> {
    const client = await fixture.connectProvision({ clientId: request.clientId, username: request.username, password: request.password });
    const replies: ReplyMessage[] = [];
    client.on('message', (_topic, payload) => replies.push(decodeReply(payload)));
    await client.subscribeAsync(replyFilter(pa, request.clientId), { qos: 1 });
    return {
      client,
      replies,
      async replyTo(id) {
        const deadline = Date.now() + 20_000;
        for (;;) {
          const reply = replies.find((candidate) => candidate.requestId === id);
          if (reply) return reply;
          if (Date.now() > deadline) assert.fail(`no reply to ${id}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      },
    };
  }

  const metrics = (extra: Record<string, unknown>) => JSON.stringify({ sentOn: Date.now(), metrics: { 'requester.client.id': 'fp-dev', ...extra } });
  const key = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  /** The CSR of the answered attempt: a repeat must send the same key. */
  const goodCsr = createCsr({ commonName: 'fp-dev', privateKey: key() }).csrPem;
  const provision = (requestId: string, extra: { csr?: string; activationKey?: string } = {}) =>
    encodeProvisionRequest({ requestId, requesterClientId: 'fp-dev', activationKey: device.activationKey!, device: {}, ...extra });
  /** The configuration hash of the answered attempt, once there is one. */
  let answeredHash = 'a'.repeat(64);
  const completion = (requestId: string, provisionRequestId: string, requesterClientId = 'fp-dev', configurationHash = answeredHash) =>
    encodeProvisionComplete({ requestId, requesterClientId, provisionRequestId, configurationHash, bundlesInstalled: [] });

  interface BadMessage {
    readonly name: string;
    readonly topic?: string;
    readonly payload: () => string | Buffer;
    /** A response.code, 'none' (request.id unreadable: no reply) or 'closed' (the broker drops the connection). */
    readonly expect: number | 'none' | 'closed';
    /** The error code the reply names. */
    readonly code?: string;
    /** The request.id the reply comes on, when the payload is not JSON. */
    readonly requestId?: string;
  }
  const provisionTopic = provisionRequestTopic(pa, 'fp-dev');
  const completeTopic = provisionCompleteTopic(pa, 'fp-dev');
  const random = seededRandom(0xf0_0d);
  const cases: BadMessage[] = [
    { name: 'invalid JSON', payload: () => '{"sentOn": 1, "metrics": {', expect: 'none' },
    {
      name: 'truncated JSON whose request.id is readable (PROTOCOL.md §5)',
      payload: () => '{"sentOn": 1, "metrics": {"request.id": "c-truncated", "requester.client.id": "fp-d',
      expect: 400,
      code: 'VALIDATION_FAILED',
      requestId: 'c-truncated',
    },
    { name: 'empty payload', payload: () => '', expect: 'none' },
    { name: 'random bytes', payload: () => randomBytesFrom(random, 300), expect: 'none' },
    { name: 'a JSON array', payload: () => '[]', expect: 'none' },
    { name: 'JSON null', payload: () => 'null', expect: 'none' },
    { name: 'a JSON number', payload: () => '42', expect: 'none' },
    { name: 'request.id a number', payload: () => metrics({ 'request.id': 7 }), expect: 'none' },
    { name: "request.id with '/'", payload: () => metrics({ 'request.id': 'a/b' }), expect: 'none' },
    { name: "request.id with '+'", payload: () => metrics({ 'request.id': '+' }), expect: 'none' },
    { name: 'request.id of 65 characters', payload: () => metrics({ 'request.id': 'r'.repeat(65) }), expect: 'none' },
    { name: 'no metrics', payload: () => JSON.stringify({ sentOn: 1 }), expect: 'none' },
    { name: 'an unknown metric', payload: () => metrics({ 'request.id': 'c-unknown', 'device.color': 'red' }), expect: 400, code: 'VALIDATION_FAILED' },
    {
      name: 'no requester.client.id',
      payload: () => JSON.stringify({ sentOn: 1, metrics: { 'request.id': 'c-norequester' } }),
      expect: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'sentOn a string',
      payload: () => JSON.stringify({ sentOn: 'now', metrics: { 'request.id': 'c-senton', 'requester.client.id': 'fp-dev' } }),
      expect: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'a metric that is an object',
      payload: () => metrics({ 'request.id': 'c-object', 'device.model': { $gt: '' } }),
      expect: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'device.model over 128 characters',
      payload: () => metrics({ 'request.id': 'c-model', 'device.model': 'm'.repeat(129) }),
      expect: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'an extra top-level field',
      payload: () => JSON.stringify({ sentOn: 1, metrics: { 'request.id': 'c-extra', 'requester.client.id': 'fp-dev' }, __proto__x: 1 }),
      expect: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'requester.client.id of another device',
      payload: () => metrics({ 'request.id': 'c-requester', 'requester.client.id': 'fp-other' }),
      expect: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'a payload of exactly maxMessageBytes (still a schema violation, but it gets through the broker)',
      payload: () => {
        const base = metrics({ 'request.id': 'c-limit', 'device.firmware': '' });
        return base.replace('"device.firmware":""', `"device.firmware":"${'f'.repeat(fixture.config.maxMessageBytes - Buffer.byteLength(base))}"`);
      },
      expect: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'a payload over maxMessageBytes',
      payload: () => metrics({ 'request.id': 'c-big', 'device.firmware': 'f'.repeat(fixture.config.maxMessageBytes) }),
      expect: 'closed',
    },
    { name: 'a CSR that is not PEM', payload: () => provision('c-csr-text', { csr: 'hello' }), expect: 400, code: 'CSR_INVALID' },
    {
      name: 'a CSR of random DER',
      payload: () =>
        provision('c-csr-random', {
          csr: `-----BEGIN CERTIFICATE REQUEST-----\n${randomBytesFrom(random, 300).toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`,
        }),
      expect: 400,
      code: 'CSR_INVALID',
    },
    {
      name: 'a CSR whose signature does not verify (foreign key)',
      payload: () => provision('c-csr-tampered', { csr: tamperCsrSignature(createCsr({ commonName: 'fp-dev' }).csrPem) }),
      expect: 400,
      code: 'CSR_INVALID',
    },
    {
      name: 'a CSR for a P-521 key',
      payload: () =>
        provision('c-csr-p521', { csr: createCsr({ commonName: 'fp-dev', privateKey: generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey }).csrPem }),
      expect: 400,
      code: 'CSR_INVALID',
    },
    {
      name: "a CSR whose CN is another device's",
      payload: () => provision('c-csr-cn', { csr: createCsr({ commonName: 'fp-other', privateKey: key() }).csrPem }),
      expect: 400,
      code: 'CSR_SUBJECT_MISMATCH',
    },
    {
      name: 'a CSR over 16 KiB',
      payload: () => provision('c-csr-long', { csr: `-----BEGIN CERTIFICATE REQUEST-----\n${'A'.repeat(17_000)}\n-----END CERTIFICATE REQUEST-----\n` }),
      expect: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'a completion for an attempt never answered',
      topic: completeTopic,
      payload: () => completion('c-complete-unknown', 'never-asked'),
      expect: 409,
      code: 'REQUEST_WRONG_STATE',
    },
    {
      name: 'a completion naming another device',
      topic: completeTopic,
      payload: () => completion('c-complete-requester', 'never-asked', 'fp-other'),
      expect: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'a completion with a bad hash',
      topic: completeTopic,
      payload: () =>
        JSON.stringify({
          sentOn: 1,
          metrics: { 'request.id': 'c-hash', 'requester.client.id': 'fp-dev', 'provision.request.id': 'x', 'configuration.hash': 'zz' },
        }),
      expect: 400,
      code: 'VALIDATION_FAILED',
    },
    {
      name: "a completion on another device's topic",
      topic: provisionCompleteTopic(pa, 'fp-other'),
      payload: () => completion('c-complete-topic', 'never-asked', 'fp-other'),
      expect: 'closed',
    },
    {
      name: "a provision request on another device's topic",
      topic: provisionRequestTopic(pa, 'fp-other'),
      payload: () => provision('c-request-topic'),
      expect: 'closed',
    },
    {
      name: 'an unknown action in the namespace',
      topic: `$EDC/${pa}/fp-dev/PROV-V1/EXEC/delete`,
      payload: () => provision('c-unknown-action'),
      expect: 'none',
    },
  ];

  let marker = 0;
  for (const badMessage of cases) {
    it(`${badMessage.name}: ${typeof badMessage.expect === 'number' ? `reply ${badMessage.expect} ${badMessage.code ?? ''}` : badMessage.expect}, store unchanged`, async () => {
      const before = [await snapshot(device), await snapshot(other)];
      const { client, replies, replyTo } = await session(device);
      try {
        const payload = badMessage.payload();
        if (badMessage.expect === 'closed') {
          assert.equal(await publishOutcome(client, badMessage.topic ?? provisionTopic, payload), 'closed');
        } else {
          await client.publishAsync(badMessage.topic ?? provisionTopic, payload, { qos: 1 });
          if (badMessage.expect === 'none') {
            // Messages from one connection are handled in order: once a later message is answered, the
            // first one surely had its chance to be answered too.
            marker += 1;
            await client.publishAsync(provisionTopic, metrics({ 'request.id': `marker-${marker}`, bogus: 1 }), { qos: 1 });
            await replyTo(`marker-${marker}`);
            assert.deepEqual(
              replies.map((reply) => reply.requestId),
              [`marker-${marker}`],
              'no reply to the unreadable message',
            );
          } else {
            const requestId = badMessage.requestId ?? (JSON.parse(payload.toString()) as { metrics: { 'request.id': string } }).metrics['request.id'];
            const reply = await replyTo(requestId);
            assert.equal(reply.responseCode, badMessage.expect, reply.message);
            if (badMessage.code) assert.match(reply.message ?? '', new RegExp(`^${badMessage.code}`));
            // Error replies are signed statements naming the device and the request.id (PROTOCOL.md §6).
            const statement = verifyReplyStatement(reply, { trustedRootPem: fixture.rootPem, caAuthentication: true, clientId: 'fp-dev', requestId });
            assert.equal(statement.message, reply.message);
          }
        }
      } finally {
        await client.endAsync(true);
      }
      assert.deepEqual([await snapshot(device), await snapshot(other)], before, 'the store is unchanged');
    });
  }

  describe('after a successful attempt', () => {
    let answeredSerial: string;

    it('a good request gets 200 (the reference point)', async () => {
      const { client, replyTo } = await session(device);
      try {
        await client.publishAsync(provisionTopic, provision('good-1', { csr: goodCsr }), { qos: 1 });
        const reply = await replyTo('good-1');
        assert.equal(reply.responseCode, 200, reply.message);
        answeredSerial = (await snapshot(device)).certificateSerial!;
        assert.ok(answeredSerial);
        const result = decodeProvisionResult(reply.body!);
        assert.ok(result.certificates.client);
        assert.equal(result.requestId, 'good-1');
        answeredHash = result.configuration.sha256;
      } finally {
        await client.endAsync(true);
      }
    });

    it('a replayed request.id gets the same certificate and changes nothing', async () => {
      const before = await snapshot(device);
      const { client, replyTo } = await session(device);
      try {
        await client.publishAsync(provisionTopic, provision('good-1', { csr: goodCsr }), { qos: 1 });
        const reply = await replyTo('good-1');
        assert.equal(reply.responseCode, 200);
        assert.match(decodeProvisionResult(reply.body!).certificates.client, /BEGIN CERTIFICATE/);
      } finally {
        await client.endAsync(true);
      }
      assert.deepEqual(await snapshot(device), before);
    });

    it('the same request.id with a CSR for another key gets 422 ATTEMPT_KEY_CHANGED and changes nothing', async () => {
      const before = await snapshot(device);
      const { client, replyTo } = await session(device);
      try {
        await client.publishAsync(provisionTopic, provision('good-1', { csr: createCsr({ commonName: 'fp-dev', privateKey: key() }).csrPem }), { qos: 1 });
        const changedKey = await replyTo('good-1');
        assert.equal(changedKey.responseCode, 422, changedKey.message);
        assert.match(changedKey.message ?? '', /^ATTEMPT_KEY_CHANGED/);
        await client.publishAsync(provisionTopic, provision('good-1'), { qos: 1 });
        const noCsr = await replyTo('good-1');
        assert.equal(noCsr.responseCode, 422, 'without a CSR after one: the generated key is not the certified one');
      } finally {
        await client.endAsync(true);
      }
      assert.deepEqual(await snapshot(device), before);
    });

    it('a completion report with another configuration hash gets 412 and leaves the request open', async () => {
      const before = await snapshot(device);
      const { client, replyTo } = await session(device);
      try {
        await client.publishAsync(completeTopic, completion('complete-bad-hash', 'good-1', 'fp-dev', 'b'.repeat(64)), { qos: 1 });
        const reply = await replyTo('complete-bad-hash');
        assert.equal(reply.responseCode, 412, reply.message);
        assert.match(reply.message ?? '', /^CONFIGURATION_HASH_MISMATCH/);
      } finally {
        await client.endAsync(true);
      }
      assert.deepEqual(await snapshot(device), before);
    });

    it("another device replaying this device's request.id gets its own answer and changes nothing here", async () => {
      const before = await snapshot(device);
      const { client, replyTo } = await session(other);
      try {
        await client.publishAsync(
          provisionRequestTopic(pa, 'fp-other'),
          encodeProvisionRequest({ requestId: 'good-1', requesterClientId: 'fp-other', device: {} }),
          { qos: 1 },
        );
        assert.equal((await replyTo('good-1')).responseCode, 200);
        // …and a completion for this device's attempt, from the other device, is refused.
        await client.publishAsync(provisionCompleteTopic(pa, 'fp-other'), completion('other-complete', 'good-0', 'fp-other'), { qos: 1 });
        assert.equal((await replyTo('other-complete')).responseCode, 409);
      } finally {
        await client.endAsync(true);
      }
      assert.deepEqual(await snapshot(device), before);
    });

    it('a completion for another attempt of this device gets 409 and changes nothing', async () => {
      const before = await snapshot(device);
      const { client, replyTo } = await session(device);
      try {
        await client.publishAsync(completeTopic, completion('complete-wrong', 'good-0'), { qos: 1 });
        const reply = await replyTo('complete-wrong');
        assert.equal(reply.responseCode, 409);
        assert.match(reply.message ?? '', /^REQUEST_WRONG_STATE/);
      } finally {
        await client.endAsync(true);
      }
      assert.deepEqual(await snapshot(device), before);
    });

    it('after completion: the report again gets 200, the request again gets 409, and nothing changes', async () => {
      const { client, replyTo } = await session(device);
      try {
        await client.publishAsync(completeTopic, completion('complete-1', 'good-1'), { qos: 1 });
        assert.equal((await replyTo('complete-1')).responseCode, 200);
        const completed = await snapshot(device);
        assert.equal(completed.jobStatus, 'COMPLETED');
        assert.equal(completed.status, 'DISABLED');
        await client.publishAsync(completeTopic, completion('complete-2', 'good-1'), { qos: 1 });
        assert.equal((await replyTo('complete-2')).responseCode, 200);
        await client.publishAsync(provisionTopic, provision('good-1'), { qos: 1 });
        await client.publishAsync(provisionTopic, provision('good-2'), { qos: 1 });
        const [again, fresh] = [await replyTo('good-1'), await replyTo('good-2')];
        assert.deepEqual([again.responseCode, fresh.responseCode], [409, 409]);
        assert.deepEqual(await snapshot(device), completed);
        assert.deepEqual(completed.certificates, [`${answeredSerial}:VALID`]);
      } finally {
        await client.endAsync(true);
      }
    });
  });
});
