import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { errorCatalogue, errorCodes, type ErrorCode } from '../errors/catalogue.ts';
import { connackOutcomes, renewalOutcomes, replyOutcomes, type DeviceAction, type DeviceOutcome } from '../protocol/device-outcomes.ts';
import { createCertificateSigningRequest } from '../protocol/csr.ts';
import { decodeProvisionResult, encodeProvisionRequest } from '../protocol/messages.ts';
import { ResponseCode } from '../protocol/response-codes.ts';
import {
  expectConnack,
  mqtt5Connect,
  ObservedOutcomes,
  openSession,
  outcomeTables as tables,
  rawConnack,
  rowOf,
  type TableName,
} from './support/device-outcome-probe.ts';
import { codeSpans, findTables, type MarkdownTable } from './support/markdown-tables.ts';
import { issueFactoryCertificate, makeManufacturerCa, type FactoryCredentials } from './support/factory-certificates.ts';
import { registerManufacturerCa } from './support/zero-touch-kit.ts';
import { createAccountAndRequest, startTestPlatform, type CreatedRequest, type TestPlatform } from './support/platform-fixture.ts';
import { requireRedisOrSkip, startRedisOrSkip, type RedisServer } from '../dev-support/redis-server.ts';

/**
 * One truth about codes (issue 11 §2): protocol/device-outcomes.ts is the table of every CONNACK
 * of the provision broker and every reply `response.code`. It must agree with the error catalogue
 * (errors/catalogue.ts), with the tables docs/PROTOCOL.md §2 and §6 print, and with what the
 * platform really answers: each row is produced here over a real socket, and a row nothing
 * produces fails the last test. The CERT-V1 table (renewal replies, §13) is checked here against
 * the catalogue and the document; test/renewal-code-table.test.ts produces its rows.
 */

/**
 * Rows no platform configuration can produce, with the reason. The provision broker closes the
 * connection of a PUBLISH over maxMessageBytes (broker/aedes-hooks.ts) and the provisioner decodes
 * with the same maxMessageBytes (platform/provisioner-deps.ts), so 413 reaches a device only when
 * broker and provisioner processes of a cluster run with different PROVISIO_MAX_MESSAGE_BYTES.
 */
/** The platform workers' MQTT password, set so that a test can act as one (the 404 case). */
const internalWorkerPassword = 'code-table-internal-password-0123456789';

const unreachable: Record<TableName, ReadonlyMap<number, string>> = {
  connack: new Map(),
  reply: new Map([[413, 'broker and provisioner share maxMessageBytes: the broker closes the connection first']]),
};

/** What the cases below met over real sockets. */
const observed = new ObservedOutcomes();

// ---------------------------------------------------------------------------------------------
// 1. The table and the error catalogue
// ---------------------------------------------------------------------------------------------

/**
 * Errors with a CONNACK code that only the ACCOUNT broker answers (mutual TLS,
 * broker/account-authenticator.ts); the table is the provision broker's. The catalogue does not
 * say which broker an error belongs to, so they are named here.
 */
const accountBrokerErrors: ReadonlySet<ErrorCode> = new Set(['CERTIFICATE_REVOKED']);

describe('the code table and the error catalogue', () => {
  it('lists, under its CONNACK and reply code, every error of the catalogue that has one', () => {
    for (const code of errorCodes) {
      const { connackCode, replyCode } = errorCatalogue[code] as { connackCode?: number; replyCode?: number };
      if (connackCode !== undefined && !accountBrokerErrors.has(code)) {
        assert.ok(rowOf('connack', connackCode).errorCodes.includes(code), `CONNACK ${connackCode} row does not list ${code}`);
      }
      if (replyCode !== undefined) {
        assert.ok(rowOf('reply', replyCode).errorCodes.includes(code), `reply ${replyCode} row does not list ${code}`);
      }
    }
  });

  it("names only errors of the catalogue, each with the row's code there", () => {
    for (const table of ['connack', 'reply'] as const) {
      for (const row of tables[table]) {
        for (const code of row.errorCodes) {
          assert.ok(Object.hasOwn(errorCatalogue, code), `${table} ${row.code} names ${code}, which errors/catalogue.ts lacks`);
          const definition = errorCatalogue[code as ErrorCode] as { connackCode?: number; replyCode?: number };
          const catalogued = table === 'connack' ? definition.connackCode : definition.replyCode;
          assert.equal(catalogued, row.code, `${code} is listed under ${table} ${row.code} but catalogued with ${catalogued}`);
        }
      }
    }
  });

  it('leaves out only account broker errors, which the provision broker never raises', () => {
    const provisionBroker = [
      'provision-authenticator.ts',
      'provision-broker.ts',
      'aedes-hooks.ts',
      'factory-certificate-authenticator.ts',
      'provisioning-code-authenticator.ts',
      'enrollment-requests.ts',
    ].map((file) => readFileSync(new URL(`../broker/${file}`, import.meta.url), 'utf8'));
    for (const code of accountBrokerErrors) {
      assert.ok((errorCatalogue[code] as { connackCode?: number }).connackCode !== undefined, `${code} has no CONNACK code: drop it from accountBrokerErrors`);
      assert.ok(!connackOutcomes.some((row) => row.errorCodes.includes(code)), `${code} is in the table now: drop it from accountBrokerErrors`);
      assert.ok(!provisionBroker.some((source) => source.includes(`'${code}'`)), `the provision broker raises ${code}: the table must list it`);
    }
  });

  it('has in the CERT-V1 table (renewal replies) each code once, and only errors of the catalogue under their reply code', () => {
    const codes = renewalOutcomes.map((row) => row.code);
    assert.equal(new Set(codes).size, codes.length, `CERT-V1 codes repeat: ${codes.join()}`);
    assert.deepEqual(renewalOutcomes.find((row) => row.code === 200)?.errorCodes, []);
    for (const row of renewalOutcomes) {
      assert.ok(Object.values(ResponseCode).includes(row.code as ResponseCode), `CERT-V1 ${row.code} is not a code of protocol/response-codes.ts`);
      for (const code of row.errorCodes) {
        assert.ok(Object.hasOwn(errorCatalogue, code), `CERT-V1 ${row.code} names ${code}, which errors/catalogue.ts lacks`);
        assert.equal((errorCatalogue[code as ErrorCode] as { replyCode?: number }).replyCode, row.code, `${code} is listed under CERT-V1 ${row.code}`);
      }
    }
  });

  it('has each code once, no error code behind a success, and the reply codes of protocol/response-codes.ts', () => {
    for (const table of ['connack', 'reply'] as const) {
      const codes = tables[table].map((row) => row.code);
      assert.equal(new Set(codes).size, codes.length, `${table} codes repeat: ${codes.join()}`);
    }
    assert.deepEqual(rowOf('connack', 0).errorCodes, []);
    assert.deepEqual(rowOf('reply', 200).errorCodes, []);
    const named = Object.values(ResponseCode).sort((a, b) => a - b);
    assert.deepEqual(
      replyOutcomes.map((row) => row.code).sort((a, b) => a - b),
      named,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// 2. The table and docs/PROTOCOL.md
// ---------------------------------------------------------------------------------------------

const deviceActions: readonly DeviceAction[] = ['install', 'retry', 'retry-after', 'back-off', 'wait-lockout', 'repeat-provision', 'new-attempt', 'give-up'];

interface DocumentedRow {
  readonly code: number;
  readonly errorCodes: readonly string[];
  readonly action: string;
}

/** The one table of PROTOCOL.md whose header starts so, under section `section` (e.g. '2.'). */
function documentedTable(markdown: string, headerStart: string, section: string): DocumentedRow[] {
  const found = findTables(markdown, headerStart);
  assert.equal(found.length, 1, `docs/PROTOCOL.md has ${found.length} tables whose header starts "${headerStart}", not one`);
  const table: MarkdownTable = found[0]!;
  assert.ok(table.section.startsWith(section), `the "${headerStart}" table is under "${table.section}", not §${section}`);
  assert.ok(table.rows.length > 0, `the "${headerStart}" table has no rows`);
  return table.rows.map((cells) => {
    const where = `docs/PROTOCOL.md "${headerStart}" row "${cells.join(' | ')}"`;
    assert.match(cells[0] ?? '', /^\d+$/, `${where}: the first column is not one numeric code`);
    const listed = cells[1] ?? '';
    const errorCodesCell = codeSpans(listed);
    if (errorCodesCell.length === 0) assert.match(listed, /^[–—-]$/, `${where}: no error codes in backticks, nor "–"`);
    const actions = [...new Set(codeSpans(cells.at(-1) ?? '').filter((span) => (deviceActions as readonly string[]).includes(span)))];
    assert.equal(actions.length, 1, `${where}: the Device action column names ${actions.length} actions in backticks (${actions.join(', ')}), not one`);
    return { code: Number(cells[0]), errorCodes: errorCodesCell, action: actions[0]! };
  });
}

function assertSameTable(documented: readonly DocumentedRow[], table: readonly DeviceOutcome[], name: string): void {
  const sorted = (codes: readonly number[]) => [...codes].sort((a, b) => a - b);
  assert.deepEqual(sorted(documented.map((row) => row.code)), sorted(table.map((row) => row.code)), `${name}: the codes differ`);
  for (const row of table) {
    const doc = documented.find((candidate) => candidate.code === row.code)!;
    assert.deepEqual(new Set(doc.errorCodes), new Set(row.errorCodes), `${name} ${row.code}: the error codes differ`);
    assert.equal(doc.action, row.action, `${name} ${row.code}: the device action differs`);
  }
}

describe('the code table and docs/PROTOCOL.md', () => {
  const markdown = readFileSync(new URL('../docs/PROTOCOL.md', import.meta.url), 'utf8');

  it('prints the CONNACK rows in §2: codes, error codes and device actions', () => {
    assertSameTable(documentedTable(markdown, '| CONNACK | Error codes |', '2.'), connackOutcomes, 'CONNACK');
  });

  it('prints the response.code rows in §6: codes, error codes and device actions', () => {
    assertSameTable(documentedTable(markdown, '| `response.code` | Error codes |', '6.'), replyOutcomes, 'response.code');
  });

  it('prints the CERT-V1 response.code rows in §13: codes, error codes and device actions', () => {
    assertSameTable(documentedTable(markdown, '| CERT-V1 `response.code` | Error codes |', '13.'), renewalOutcomes, 'CERT-V1 response.code');
  });
});

// ---------------------------------------------------------------------------------------------
// 3. Every row over a real socket
// ---------------------------------------------------------------------------------------------

const ecKey = (): KeyObject => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const hoursFromNow = (hours: number): string => new Date(Date.now() + hours * 3_600_000).toISOString();

describe('every row of the code table, produced over a real socket', { timeout: 120_000 }, () => {
  /** Stays null when redis-server is not installed (the Redis cases then skip, loudly). */
  let redis: RedisServer | null = null;

  describe('on a platform with the SQLite store', () => {
    const authFailureLimit = 3;
    let fixture: TestPlatform;
    before(async () => {
      fixture = await startTestPlatform({ authFailureLimit, internalPassword: internalWorkerPassword });
    });
    after(() => fixture.close());

    const credentials = (request: CreatedRequest) => ({ clientId: request.clientId, username: request.username, password: request.password });

    it('CONNACK 0; 200 over TLS without a CSR, 200 to the completion report, then 409 REQUEST_WRONG_STATE to a new request.id', async () => {
      const request = await createAccountAndRequest(fixture, 'ct-done');
      const device = await openSession(fixture, observed, request);
      try {
        const result = decodeProvisionResult((await device.provision('p-1', 200)).body!);
        assert.ok(result.certificates.clientKey, 'the platform generated the key');
        await device.complete('c-1', 'p-1', result.configuration.sha256, 200);
        await device.provision('p-2', 409, { errorCode: 'REQUEST_WRONG_STATE' });
      } finally {
        await device.end();
      }
    });

    it('200 to a CSR; 422 when that request.id comes again with a CSR for another key; 412 to a report with a wrong configuration.hash', async () => {
      const request = await createAccountAndRequest(fixture, 'ct-csr');
      const device = await openSession(fixture, observed, request);
      try {
        await device.provision('k-1', 200, { deviceKey: ecKey() });
        await device.provision('k-1', 422, { deviceKey: ecKey(), errorCode: 'ATTEMPT_KEY_CHANGED' });
        await device.complete('c-1', 'k-1', 'f'.repeat(64), 412, 'CONFIGURATION_HASH_MISMATCH');
      } finally {
        await device.end();
      }
    });

    it('CONNACK 2 for a clientId with a "/" or starting with "$"', async () => {
      for (const clientId of ['ct/slash', '$ct-dollar']) {
        await expectConnack(fixture, observed, { clientId, username: 'someone', password: 'some-password' }, 2, 'CONNECT_CLIENT_ID_INVALID');
      }
    });

    it('CONNACK 4 for a wrong password, and for a DISABLED request with the right password', async () => {
      const wrong = await createAccountAndRequest(fixture, 'ct-wrong');
      await expectConnack(fixture, observed, { ...credentials(wrong), password: 'not-the-password' }, 4, 'CONNECT_BAD_CREDENTIALS');
      const disabled = await createAccountAndRequest(fixture, 'ct-disabled');
      assert.equal((await fixture.api('POST', `/provision-requests/${disabled.id}/disable`)).status, 200);
      await expectConnack(fixture, observed, credentials(disabled), 4, 'CONNECT_BAD_CREDENTIALS');
    });

    it('CONNACK 5 for an expired request with the right password, and for a locked-out clientId with the right password', async () => {
      const expired = await createAccountAndRequest(fixture, 'ct-expired', { extra: { activatesOn: hoursFromNow(-2), expiresOn: hoursFromNow(-1) } });
      await expectConnack(fixture, observed, credentials(expired), 5, 'CONNECT_NOT_AUTHORIZED');
      const locked = await createAccountAndRequest(fixture, 'ct-locked');
      for (let i = 0; i < authFailureLimit; i += 1) {
        await expectConnack(fixture, observed, { ...credentials(locked), password: `guess-${i}-password` }, 4, 'CONNECT_BAD_CREDENTIALS');
      }
      await expectConnack(fixture, observed, credentials(locked), 5, 'CONNECT_LOCKED_OUT');
    });

    it('CONNACK 5 to a factory certificate not from a registered CA, one no enrollment group takes, and a blocked one', async () => {
      const store = fixture.platform.store;
      // Registered before any factory CONNECT: the broker keeps the CA list a few seconds.
      const maker = makeManufacturerCa('Code Table Maker CA');
      const ca = await registerManufacturerCa(store, maker);
      const factory = (device: FactoryCredentials) => ({ clientId: device.clientId, cert: device.certPem, key: device.keyPem });
      const stranger = issueFactoryCertificate(makeManufacturerCa('Code Table Stranger CA'), 'ct-factory-stranger', 1);
      await expectConnack(fixture, observed, factory(stranger), 5, 'CERTIFICATE_INVALID');
      await expectConnack(fixture, observed, factory(issueFactoryCertificate(maker, 'ct-factory-no-group', 2)), 5, 'ENROLLMENT_REFUSED');
      const stolen = issueFactoryCertificate(maker, 'ct-factory-stolen', 3);
      await store.blockFactoryCertificate({ manufacturerCaId: ca.id, serial: stolen.serial, reason: 'stolen', blockedOn: Date.now(), blockedBy: 'code-table' });
      await expectConnack(fixture, observed, factory(stolen), 5, 'FACTORY_CERTIFICATE_BLOCKED');
    });

    it('CONNACK 1 to an MQTT 5 CONNECT (aedes speaks MQTT 3.1 and 3.1.1 only) is a row of the table', async () => {
      assert.equal(await rawConnack(fixture, mqtt5Connect('ct-mqtt5')), 1);
      rowOf('connack', 1);
      observed.add('connack', 1, '–');
    });

    it('400 to an unknown metric, an unreadable CSR and a CSR naming another device', async () => {
      const request = await createAccountAndRequest(fixture, 'ct-bad');
      const device = await openSession(fixture, observed, request);
      try {
        const message = JSON.parse(encodeProvisionRequest({ requestId: 'v-1', requesterClientId: request.clientId, device: {} }).toString()) as {
          metrics: Record<string, unknown>;
        };
        message.metrics['unknown.metric'] = 'x';
        await device.publish('provision', Buffer.from(JSON.stringify(message)));
        await device.expectReply('v-1', 'provision', 400, { errorCode: 'VALIDATION_FAILED' });
        await device.provision('v-2', 400, { csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', errorCode: 'CSR_INVALID' });
        await device.provision('v-3', 400, { csr: createCertificateSigningRequest('someone-else', ecKey()), errorCode: 'CSR_SUBJECT_MISMATCH' });
      } finally {
        await device.end();
      }
    });

    it('401 to a wrong activation key', async () => {
      const request = await createAccountAndRequest(fixture, 'ct-key', { generateActivationKey: true });
      const device = await openSession(fixture, observed, request);
      try {
        await device.provision('a-1', 401, { activationKey: 'A'.repeat(32), errorCode: 'ACTIVATION_KEY_INVALID' });
      } finally {
        await device.end();
      }
    });

    it('CONNACK 0 for a request not active yet, and 403 with retry.after.seconds to its provision request', async () => {
      const request = await createAccountAndRequest(fixture, 'ct-early', { extra: { activatesOn: hoursFromNow(1) } });
      const device = await openSession(fixture, observed, request);
      try {
        const reply = await device.provision('e-1', 403, { errorCode: 'REQUEST_NOT_ACTIVE' });
        assert.ok(
          reply.retryAfterSeconds !== undefined && reply.retryAfterSeconds > 3_500 && reply.retryAfterSeconds <= 3_600,
          `retry.after.seconds ${reply.retryAfterSeconds}`,
        );
      } finally {
        await device.end();
      }
    });

    it('404 to a provision message for a clientId that has no request', async () => {
      // Deleting a request ends the device's session before the API answers (issue 20 §1), so a
      // device meets 404 only when the deletion races its message. The provisioner's answer is
      // produced here through a platform worker's connection (internal credentials), which may
      // publish on any device's topic: the very reply a device in that race gets.
      const request = { id: 'none', accountId: 'none', clientId: 'ct-no-request', username: fixture.config.internalUsername, password: internalWorkerPassword };
      const device = await openSession(fixture, observed, request);
      try {
        await device.provision('d-1', 404, { errorCode: 'NOT_FOUND' });
      } finally {
        await device.end();
      }
    });

    it('409 RETRIES_EXHAUSTED to a new request.id after the one attempt of retryMaxAttempts 1 was answered', async () => {
      const request = await createAccountAndRequest(fixture, 'ct-once', { extra: { retryMaxAttempts: 1 } });
      const device = await openSession(fixture, observed, request);
      try {
        await device.provision('o-1', 200);
        await device.provision('o-2', 409, { errorCode: 'RETRIES_EXHAUSTED' });
      } finally {
        await device.end();
      }
    });

    it('410 when the request expires while the device is connected', async () => {
      const expiresOn = Date.now() + 1_500;
      const request = await createAccountAndRequest(fixture, 'ct-expiring', { extra: { expiresOn: new Date(expiresOn).toISOString() } });
      const device = await openSession(fixture, observed, request);
      try {
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresOn - Date.now()) + 50));
        await device.provision('x-1', 410, { errorCode: 'REQUEST_EXPIRED' });
      } finally {
        await device.end();
      }
    });

    it('426 to a provision request without a CSR over plain TCP; the same over TLS is 200', async () => {
      const request = await createAccountAndRequest(fixture, 'ct-plain');
      const overTcp = await openSession(fixture, observed, request, { tcp: true });
      try {
        await overTcp.provision('t-1', 426, { errorCode: 'KEY_GENERATION_NEEDS_TLS' });
      } finally {
        await overTcp.end();
      }
      const overTls = await openSession(fixture, observed, request);
      try {
        await overTls.provision('t-2', 200);
      } finally {
        await overTls.end();
      }
    });
  });

  describe('on a platform with the Redis store (store faults, overload)', () => {
    let fixture: TestPlatform;
    let raw: Redis;
    const redisKeyPrefix = `code-table:${randomUUID()}:`;
    before(async () => {
      redis = await startRedisOrSkip({ persistent: true });
      if (!redis) return;
      fixture = await startTestPlatform({ storeBackend: 'redis', redisUrl: redis.url, redisKeyPrefix, provisionerMaxInFlight: 1 });
      raw = new Redis(redis.url, { maxRetriesPerRequest: null });
      raw.on('error', () => undefined); // Redis is stopped on purpose below
    });
    after(async () => {
      if (!redis) return;
      raw.disconnect();
      await fixture.close();
      await redis.stop();
    });

    it('429 with retry.after.seconds to a message beyond the in-flight limit', async (t) => {
      if (!requireRedisOrSkip(t, redis)) return;
      const request = await createAccountAndRequest(fixture, 'ct-busy');
      const device = await openSession(fixture, observed, request);
      try {
        // provisionerMaxInFlight 1 (its minimum): while Redis holds the first message, the
        // provisioner has it in flight, and the next one is answered 429 at once.
        await raw.call('CLIENT', 'PAUSE', '1000', 'ALL');
        for (const id of ['b-1', 'b-2']) {
          await device.publish('provision', encodeProvisionRequest({ requestId: id, requesterClientId: request.clientId, device: {} }));
        }
        const reply = await device.expectReply('b-2', 'provision', 429, { errorCode: 'OVERLOADED' });
        assert.ok(reply.retryAfterSeconds !== undefined && reply.retryAfterSeconds > 0, `retry.after.seconds ${reply.retryAfterSeconds}`);
        await device.expectReply('b-1', 'provision', 200);
      } finally {
        await device.end();
      }
    });

    it('500 INTERNAL when the request record is not readable (WRONGTYPE), and CONNACK 3 to the next CONNECT', async (t) => {
      if (!requireRedisOrSkip(t, redis)) return;
      const request = await createAccountAndRequest(fixture, 'ct-broken');
      const device = await openSession(fixture, observed, request);
      try {
        const key = `${redisKeyPrefix}request:${request.id}`;
        assert.equal(await raw.type(key), 'string', 'request records are JSON strings (store/redis/redis-keys.ts)');
        await raw.multi().del(key).hset(key, 'not', 'json').exec();
        await device.provision('i-1', 500, { errorCode: 'INTERNAL' });
        await expectConnack(fixture, observed, { clientId: request.clientId, username: request.username, password: request.password }, 3, 'INTERNAL');
      } finally {
        await device.end();
      }
    });

    it('503 STORE_UNAVAILABLE to a device connected before Redis went away, and CONNACK 3 while it is away', async (t) => {
      if (!requireRedisOrSkip(t, redis)) return;
      const connected = await createAccountAndRequest(fixture, 'ct-gone');
      const later = await createAccountAndRequest(fixture, 'ct-later');
      const device = await openSession(fixture, observed, connected);
      try {
        await redis.restart!(async () => {
          await device.provision('u-1', 503, { errorCode: 'STORE_UNAVAILABLE' });
          await expectConnack(fixture, observed, { clientId: later.clientId, username: later.username, password: later.password }, 3, 'STORE_UNAVAILABLE');
        });
      } finally {
        await device.end();
      }
    });
  });

  it('produced every code of both tables', (t) => {
    for (const table of ['connack', 'reply'] as const) {
      const missing = tables[table].map((row) => row.code).filter((code) => !observed.has(table, code) && !unreachable[table].has(code));
      const onlyOnRedis = new Set(table === 'connack' ? [3] : [429, 500, 503]);
      if (!redis && missing.length > 0 && missing.every((code) => onlyOnRedis.has(code)) && !requireRedisOrSkip(t, redis)) return;
      assert.deepEqual(missing, [], `${table} codes no case produced: ${missing.join(', ')} (seen: ${observed.summary(table)})`);
    }
  });
});
