import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import { verifyRenewalReply, verifyReplyStatement } from '../agent-sim/reply-verification.ts';
import type { PlatformConfig } from '../config/config.ts';
import { createCsr } from '../dev-support/csr.ts';
import { requireRedisOrSkip, startRedisOrSkip, type RedisServer } from '../dev-support/redis-server.ts';
import type { ErrorCode } from '../errors/catalogue.ts';
import { actionForRenewal, renewalOutcomes } from '../protocol/device-outcomes.ts';
import { type ReplyMessage } from '../protocol/messages.ts';
import { encodeRenewalRequest, renewalRequestTopic } from '../protocol/renewal.ts';
import { codeSpans, findTables } from './support/markdown-tables.ts';
import { createAccountAndRequest, startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { collectRenewalReplies, connectAccount, provisionOverMqtt, type WireProvisioned } from './support/wire-provisioning.ts';

/**
 * Every row of the CERT-V1 code table (docs/PROTOCOL.md §13, protocol/device-outcomes.ts
 * renewalOutcomes) produced over real TLS on the account broker, by devices provisioned over the
 * wire: on SQLite and on Redis the codes a device's own request causes, on Redis the store faults
 * (Redis stopped: 503; a WRONGTYPE key: 500) and the in-flight bound (Redis paused: 429). Each
 * reply is verified as PROTOCOL.md §7 says, and must carry an error code of its documented row and
 * the documented device action (the one agent-sim acts on). A row nothing produces fails the last
 * test, unless it is listed as unreachable below with the reason.
 */

const account = 'acme';
const markdown = readFileSync(new URL('../docs/PROTOCOL.md', import.meta.url), 'utf8');

/** The CERT-V1 table as PROTOCOL.md prints it: code → documented error codes and device action. */
const documented: ReadonlyMap<number, { readonly errorCodes: readonly string[]; readonly action: string }> = (() => {
  const [table, ...others] = findTables(markdown, '| CERT-V1 `response.code` | Error codes |');
  assert.ok(table && others.length === 0, 'docs/PROTOCOL.md prints one CERT-V1 code table');
  return new Map(
    table.rows.map((cells) => [Number(cells[0]), { errorCodes: codeSpans(cells[1] ?? ''), action: codeSpans(cells.at(-1) ?? '')[0] ?? '' }] as const),
  );
})();

/**
 * Rows this platform cannot produce, with the reason (PROTOCOL.md §13 says it too). The account
 * broker closes the connection of a PUBLISH over PROVISIO_MAX_MESSAGE_BYTES before anything reads
 * it (broker/aedes-hooks.ts), and the renewal handler runs in the same process as that broker with
 * the same limit (platform/platform.ts, platform/broker-main.ts): shown by the oversized case below.
 */
const unreachable: ReadonlyMap<number, string> = new Map([[413, 'the account broker closes the connection first, with the same limit']]);

/** The codes met below, each with the error codes it came with ('–' for none). */
const observed = new Map<number, Set<string>>();

interface RenewingDevice {
  readonly clientId: string;
  readonly client: MqttClient;
  readonly provisioned: WireProvisioned;
  /** Publishes raw bytes to EXEC/renew (QoS 1). */
  publish(payload: Buffer): Promise<void>;
  /** A well-formed renewal request for `csrPem` (requester.client.id = clientId unless given). */
  send(requestId: string, csrPem: string, requesterClientId?: string): Promise<void>;
  /**
   * The reply to requestId, checked: its code, §7 verification (the renewal result for a 200, the
   * reply statement otherwise), an error code of the documented row at the head of its message,
   * and the documented device action.
   */
  expectReply(requestId: string, code: number, expected?: { errorCode?: ErrorCode; newKey?: KeyObject }): Promise<ReplyMessage>;
  /** send, then expectReply. */
  renew(requestId: string, code: number, expected: { csrPem: string; errorCode?: ErrorCode; newKey?: KeyObject }): Promise<ReplyMessage>;
  /** Resolves when the connection closes. */
  readonly closed: Promise<void>;
  end(): Promise<void>;
}

/** The error code a message names (`CODE` or `CODE: detail`), when it is one of `codes`. */
function namedErrorCode(codes: readonly string[], message: string | undefined): string | undefined {
  return codes.find((code) => message === code || message?.startsWith(`${code}:`));
}

/** A device provisioned over the wire, online on its account broker and subscribed to its CERT-V1 topics (§13). */
async function renewingDevice(fixture: TestPlatform, clientId: string): Promise<RenewingDevice> {
  const request = await createAccountAndRequest(fixture, clientId, { account });
  const provisioned = await provisionOverMqtt({
    provisionUrl: `mqtts://localhost:${fixture.platform.provisionBroker.mqttsPort}`,
    rootPem: fixture.rootPem,
    clientId,
    username: request.username,
    password: request.password,
    requestId: 'provision-1',
  });
  const client = await connectAccount(`mqtts://localhost:${fixture.platform.accountBroker.mqttsPort}`, fixture.rootPem, clientId, provisioned);
  const { replyTo } = await collectRenewalReplies(client, account, clientId);
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  const device: RenewingDevice = {
    clientId,
    client,
    provisioned,
    closed,
    async publish(payload) {
      await client.publishAsync(renewalRequestTopic(account, clientId), payload, { qos: 1 });
    },
    async send(requestId, csrPem, requesterClientId = clientId) {
      await device.publish(encodeRenewalRequest({ requestId, requesterClientId, csr: csrPem }));
    },
    async expectReply(requestId, code, expected = {}) {
      const reply = await replyTo(requestId);
      assert.equal(reply.responseCode, code, `CERT-V1 reply to ${clientId}/${requestId}: ${reply.message}`);
      const row = documented.get(code);
      assert.ok(row, `CERT-V1 ${code} is not a row of the docs/PROTOCOL.md §13 table`);
      const trust = { trustedRootPem: fixture.rootPem, caAuthentication: true, clientId, requestId };
      if (code === 200) {
        assert.ok(expected.newKey, 'a 200 is checked against the new key');
        verifyRenewalReply(reply, { ...trust, account, newKey: expected.newKey });
        assert.equal(reply.message, undefined);
      } else {
        assert.equal(verifyReplyStatement(reply, trust).message, reply.message);
      }
      const named = namedErrorCode(row.errorCodes, reply.message);
      if (row.errorCodes.length === 0) assert.equal(named, undefined);
      else assert.ok(named, `"${reply.message}" does not start with one of the documented ${row.errorCodes.join(', ')}`);
      if (expected.errorCode) assert.equal(named, expected.errorCode, reply.message);
      assert.equal(actionForRenewal(code), row.action, `the device action of CERT-V1 ${code}`);
      const errors = observed.get(code) ?? new Set<string>();
      errors.add(named ?? '–');
      observed.set(code, errors);
      return reply;
    },
    async renew(requestId, code, { csrPem, ...expected }) {
      await device.send(requestId, csrPem);
      return device.expectReply(requestId, code, expected);
    },
    end: () => client.endAsync(),
  };
  return device;
}

/** The rows a device's own requests reach: 200, 400 (each error code), 422, 429 (per-device burst). */
function requestRows(backend: 'sqlite' | 'redis', fixture: () => TestPlatform): void {
  it('200 to a CSR for a new key; 422 when that request.id comes again for another key', async () => {
    const device = await renewingDevice(fixture(), `cert-ok-${backend}`);
    try {
      const key = createCsr({ commonName: device.clientId });
      await device.renew('r-1', 200, { csrPem: key.csrPem, newKey: key.privateKey });
      await device.renew('r-1', 200, { csrPem: key.csrPem, newKey: key.privateKey }); // a repeat: 200 again
      await device.renew('r-1', 422, { csrPem: createCsr({ commonName: device.clientId }).csrPem, errorCode: 'ATTEMPT_KEY_CHANGED' });
    } finally {
      await device.end();
    }
  });

  it('400 to a wrong requester.client.id, an unknown metric, an unreadable CSR, a CSR for the current key and one for another CN', async () => {
    const device = await renewingDevice(fixture(), `cert-bad-${backend}`);
    try {
      const csrPem = createCsr({ commonName: device.clientId }).csrPem;
      await device.send('v-1', csrPem, 'someone-else');
      await device.expectReply('v-1', 400, { errorCode: 'VALIDATION_FAILED' });
      const message = JSON.parse(encodeRenewalRequest({ requestId: 'v-2', requesterClientId: device.clientId, csr: csrPem }).toString()) as {
        metrics: Record<string, unknown>;
      };
      message.metrics['unknown.metric'] = 'x';
      await device.publish(Buffer.from(JSON.stringify(message)));
      await device.expectReply('v-2', 400, { errorCode: 'VALIDATION_FAILED' });
      const unreadable = '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n';
      await device.renew('v-3', 400, { csrPem: unreadable, errorCode: 'CSR_INVALID' });
      const currentKey = createCsr({ commonName: device.clientId, privateKey: createPrivateKey(device.provisioned.keyPem) }).csrPem;
      const sameKey = await device.renew('v-4', 400, { csrPem: currentKey, errorCode: 'CSR_INVALID' });
      assert.match(sameKey.message ?? '', /current certificate/);
      await device.renew('v-5', 400, { csrPem: createCsr({ commonName: 'someone-else' }).csrPem, errorCode: 'CSR_SUBJECT_MISMATCH' });
    } finally {
      await device.end();
    }
  });

  it('429 with retry.after.seconds to the request beyond the per-device burst', async () => {
    const device = await renewingDevice(fixture(), `cert-burst-${backend}`);
    try {
      const wrongName = createCsr({ commonName: 'not-me' }).csrPem;
      for (let i = 1; i <= burst; i += 1) await device.renew(`f-${i}`, 400, { csrPem: wrongName, errorCode: 'CSR_SUBJECT_MISMATCH' });
      const reply = await device.renew(`f-${burst + 1}`, 429, { csrPem: wrongName, errorCode: 'OVERLOADED' });
      assert.ok((reply.retryAfterSeconds ?? 0) >= 1, `retry.after.seconds ${reply.retryAfterSeconds}`);
    } finally {
      await device.end();
    }
  });
}

const burst = 8;

/** null when redis-server is not installed: the Redis cases then skip, loudly. Persistent, for restart(). */
const redis: RedisServer | null = await startRedisOrSkip({ persistent: true });
after(() => redis?.stop());

describe('every row of the CERT-V1 code table, produced over real TLS on the account broker', { timeout: 180_000 }, () => {
  describe('on a platform with the SQLite store', () => {
    let fixture: TestPlatform;
    before(async () => {
      fixture = await startTestPlatform({ certificateRenewalBurst: burst });
    });
    after(() => fixture.close());

    requestRows('sqlite', () => fixture);

    it('413 is unreachable: a renewal request over PROVISIO_MAX_MESSAGE_BYTES closes the connection and gets no reply', async () => {
      const device = await renewingDevice(fixture, 'cert-huge-sqlite');
      const message = JSON.parse(encodeRenewalRequest({ requestId: 'h-1', requesterClientId: device.clientId, csr: 'x' }).toString()) as {
        metrics: Record<string, unknown>;
      };
      message.metrics['csr'] = 'x'.repeat(fixture.config.maxMessageBytes);
      const replied: string[] = [];
      device.client.on('message', (topic) => replied.push(topic));
      device.publish(Buffer.from(JSON.stringify(message))).catch(() => undefined); // no PUBACK comes: the connection closes
      await device.closed;
      assert.deepEqual(replied, [], 'no reply before the connection closed');
      device.client.end(true);
    });
  });

  const redisSettings = (server: RedisServer): Partial<PlatformConfig> => ({
    storeBackend: 'redis',
    redisUrl: server.url,
    redisKeyPrefix: `renewal-code-table:${randomUUID()}:`,
  });

  describe('on a platform with the Redis store (store faults, the in-flight bound)', { skip: redis ? false : 'redis-server is not installed' }, () => {
    let fixture: TestPlatform;
    let raw: Redis;
    before(async () => {
      fixture = await startTestPlatform({ ...redisSettings(redis!), certificateRenewalBurst: burst, certificateRenewalMaxInFlight: 1 });
      raw = new Redis(redis!.url, { maxRetriesPerRequest: null });
      raw.on('error', () => undefined); // Redis is stopped on purpose below
    });
    after(async () => {
      raw?.disconnect();
      await fixture?.close();
    });

    requestRows('redis', () => fixture);

    it('429 with retry.after.seconds 1 to a request beyond the in-flight bound (PROVISIO_CERTIFICATE_RENEWAL_MAX_IN_FLIGHT 1)', async () => {
      const device = await renewingDevice(fixture, 'cert-busy');
      try {
        // While Redis holds the first request, the process has it in flight; the next one is answered 429 at once.
        const first = createCsr({ commonName: device.clientId });
        await raw.call('CLIENT', 'PAUSE', '1000', 'ALL');
        await device.send('b-1', first.csrPem);
        // More refusals than the device's burst: the process was busy, not the device, so none
        // of them may use up the device's own allowance.
        for (let i = 2; i <= burst + 1; i++) {
          await device.send(`b-${i}`, createCsr({ commonName: device.clientId }).csrPem);
          const reply = await device.expectReply(`b-${i}`, 429, { errorCode: 'OVERLOADED' });
          assert.equal(reply.retryAfterSeconds, 1);
        }
        await device.expectReply('b-1', 200, { newKey: first.privateKey });
        const after = createCsr({ commonName: device.clientId });
        await device.renew('b-after', 200, { csrPem: after.csrPem, newKey: after.privateKey });
      } finally {
        await device.end();
      }
    });

    it('500 INTERNAL when the device record is not readable (WRONGTYPE)', async () => {
      const device = await renewingDevice(fixture, 'cert-broken');
      try {
        const accountId = (await fixture.platform.store.getAccountByName(account))!.id;
        const key = `${fixture.config.redisKeyPrefix}device:${accountId}:${device.clientId}`;
        assert.equal(await raw.type(key), 'string', 'device records are JSON strings (store/redis/redis-keys.ts)');
        await raw.multi().del(key).hset(key, 'not', 'json').exec();
        const csr = createCsr({ commonName: device.clientId });
        await device.renew('i-1', 500, { csrPem: csr.csrPem, errorCode: 'INTERNAL' });
      } finally {
        await device.end();
      }
    });

    it('503 STORE_UNAVAILABLE to a device online before Redis went away', async () => {
      const device = await renewingDevice(fixture, 'cert-gone');
      try {
        const csr = createCsr({ commonName: device.clientId });
        await redis!.restart!(async () => {
          await device.renew('u-1', 503, { csrPem: csr.csrPem, errorCode: 'STORE_UNAVAILABLE' });
        });
        // Redis is back: the same request.id and CSR (the device action `retry`) are renewed.
        await device.renew('u-1', 200, { csrPem: csr.csrPem, newKey: csr.privateKey });
      } finally {
        await device.end();
      }
    });
  });

  it('produced every code of the CERT-V1 table, and the table is the one PROTOCOL.md prints', (t) => {
    assert.deepEqual(
      [...documented.keys()].sort((a, b) => a - b),
      renewalOutcomes.map((row) => row.code).sort((a, b) => a - b),
    );
    const missing = renewalOutcomes.map((row) => row.code).filter((code) => !observed.has(code) && !unreachable.has(code));
    const onlyOnRedis = new Set([500, 503]);
    if (!redis && missing.length > 0 && missing.every((code) => onlyOnRedis.has(code)) && !requireRedisOrSkip(t, redis)) return;
    const seen = [...observed].map(([code, errors]) => `${code} ${[...errors].join('/')}`).join('; ');
    assert.deepEqual(missing, [], `CERT-V1 codes no case produced: ${missing.join(', ')} (seen: ${seen})`);
    for (const code of unreachable.keys()) assert.ok(!observed.has(code), `CERT-V1 ${code} was produced: drop it from unreachable`);
  });
});
