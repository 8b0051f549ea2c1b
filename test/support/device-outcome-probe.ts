/**
 * Test helper for test/protocol-code-table.test.ts: a device that meets the rows of
 * protocol/device-outcomes.ts over real sockets, checks each against its row (the error code the
 * platform names, the reply's signature) and notes which rows it met.
 */
import assert from 'node:assert/strict';
import type { KeyObject } from 'node:crypto';
import { createConnection } from 'node:net';
import type { IClientOptions, MqttClient } from 'mqtt';
import { verifyProvisionReply, verifyReplyStatement } from '../../agent-sim/reply-verification.ts';
import type { ErrorCode } from '../../errors/catalogue.ts';
import { connackOutcomes, replyOutcomes, type DeviceOutcome } from '../../protocol/device-outcomes.ts';
import { createCertificateSigningRequest } from '../../protocol/csr.ts';
import { encodeProvisionComplete, encodeProvisionRequest, type ReplyMessage } from '../../protocol/messages.ts';
import { provisionCompleteTopic, provisionRequestTopic } from '../../protocol/topics.ts';
import { listenForReplies, provisioningAccount } from './device-exchange.ts';
import { connackOf, type CreatedRequest, type TestPlatform } from './platform-fixture.ts';

export type TableName = 'connack' | 'reply';
export const outcomeTables: Readonly<Record<TableName, readonly DeviceOutcome[]>> = { connack: connackOutcomes, reply: replyOutcomes };

export function rowOf(table: TableName, code: number): DeviceOutcome {
  const row = outcomeTables[table].find((candidate) => candidate.code === code);
  assert.ok(row, `${table} code ${code} is not in protocol/device-outcomes.ts`);
  return row;
}

/** The codes met over real sockets, each with the error codes it came with ('–' for none). */
export class ObservedOutcomes {
  private readonly seen: Record<TableName, Map<number, Set<string>>> = { connack: new Map(), reply: new Map() };

  add(table: TableName, code: number, errorCode: string): void {
    const errors = this.seen[table].get(code) ?? new Set<string>();
    errors.add(errorCode);
    this.seen[table].set(code, errors);
  }

  has(table: TableName, code: number): boolean {
    return this.seen[table].has(code);
  }

  summary(table: TableName): string {
    return [...this.seen[table]].map(([code, errors]) => `${code} ${[...errors].join('/')}`).join('; ');
  }
}

export type Exchange = 'provision' | 'complete';

/** The error code a reply message names (`CODE` or `CODE: detail`), when it is one of the row's. */
function namedErrorCode(row: DeviceOutcome, message: string | undefined): string | undefined {
  return row.errorCodes.find((code) => message === code || message?.startsWith(`${code}:`));
}

/** A device connected to the provision broker (CONNACK 0), subscribed to its replies. */
export interface DeviceSession {
  readonly client: MqttClient;
  publish(exchange: Exchange, payload: Buffer): Promise<void>;
  /**
   * The reply to requestId, checked: its code, an error code of its row at the head of its
   * message (no message for 200), and its signature by the platform's signer (PROTOCOL.md §7).
   */
  expectReply(requestId: string, exchange: Exchange, code: number, expected?: { errorCode?: ErrorCode; deviceKey?: KeyObject }): Promise<ReplyMessage>;
  /** A provision request (with a CSR for deviceKey, when given), and expectReply. */
  provision(
    requestId: string,
    code: number,
    options?: { activationKey?: string; deviceKey?: KeyObject; csr?: string; errorCode?: ErrorCode },
  ): Promise<ReplyMessage>;
  /** A completion report, and expectReply. */
  complete(requestId: string, provisionRequestId: string, configurationHash: string, code: number, errorCode?: ErrorCode): Promise<ReplyMessage>;
  end(): Promise<void>;
}

export async function openSession(
  fixture: TestPlatform,
  observed: ObservedOutcomes,
  request: CreatedRequest,
  options: { tcp?: boolean } = {},
): Promise<DeviceSession> {
  const { clientId } = request;
  const client = await fixture.connectProvision({ clientId, username: request.username, password: request.password, ...(options.tcp ? { tcp: true } : {}) });
  observed.add('connack', 0, '–');
  const replyTo = await listenForReplies(client, clientId);
  const session: DeviceSession = {
    client,
    async publish(exchange, payload) {
      const topic = exchange === 'provision' ? provisionRequestTopic(provisioningAccount, clientId) : provisionCompleteTopic(provisioningAccount, clientId);
      await client.publishAsync(topic, payload, { qos: 1 });
    },
    async expectReply(requestId, exchange, code, expected = {}) {
      const reply = await replyTo(requestId);
      assert.equal(reply.responseCode, code, `reply to ${clientId}/${requestId}: ${reply.message}`);
      const row = rowOf('reply', code);
      const named = namedErrorCode(row, reply.message);
      if (row.errorCodes.length === 0) assert.equal(reply.message, undefined);
      else assert.ok(named, `"${reply.message}" does not start with one of ${row.errorCodes.join(', ')}`);
      if (expected.errorCode) assert.equal(named, expected.errorCode, reply.message);
      const trust = { trustedRootPem: fixture.rootPem, caAuthentication: true, clientId, requestId };
      if (exchange === 'provision' && code === 200) {
        verifyProvisionReply(reply, { ...trust, ...(expected.deviceKey ? { devicePublicKey: expected.deviceKey } : {}) });
      } else {
        assert.equal(verifyReplyStatement(reply, trust).message, reply.message);
      }
      observed.add('reply', code, named ?? '–');
      return reply;
    },
    async provision(requestId, code, { activationKey, deviceKey, csr, errorCode } = {}) {
      const csrPem = csr ?? (deviceKey ? createCertificateSigningRequest(clientId, deviceKey) : undefined);
      const message = { requestId, requesterClientId: clientId, device: { model: 'code-table' } };
      await session.publish(
        'provision',
        encodeProvisionRequest({ ...message, ...(activationKey ? { activationKey } : {}), ...(csrPem ? { csr: csrPem } : {}) }),
      );
      return session.expectReply(requestId, 'provision', code, { ...(errorCode ? { errorCode } : {}), ...(deviceKey ? { deviceKey } : {}) });
    },
    async complete(requestId, provisionRequestId, configurationHash, code, errorCode) {
      const report = { requestId, requesterClientId: clientId, provisionRequestId, configurationHash, bundlesInstalled: [] };
      await session.publish('complete', encodeProvisionComplete(report));
      return session.expectReply(requestId, 'complete', code, errorCode ? { errorCode } : {});
    },
    end: () => client.endAsync(),
  };
  return session;
}

/** The code of the last "CONNECT refused" line logged for clientId in `text` (pino JSON lines). */
function loggedRefusal(text: string, clientId: string): string | undefined {
  let code: string | undefined;
  for (const line of text.split('\n')) {
    if (!line.includes('CONNECT refused')) continue;
    const entry = JSON.parse(line) as { msg?: string; clientId?: string; code?: string };
    if (entry.msg === 'CONNECT refused' && entry.clientId === clientId) code = entry.code;
  }
  return code;
}

/**
 * CONNECTs and checks the CONNACK. MQTT 3.1.1 carries no reason, so the error code is the one
 * the platform logged for the refusal. A store fault (CONNACK 3) is no refusal and logs none:
 * `errorCode` then names the fault the test caused.
 */
export async function expectConnack(
  fixture: TestPlatform,
  observed: ObservedOutcomes,
  options: IClientOptions & { clientId: string; tcp?: boolean },
  code: number,
  errorCode?: ErrorCode,
): Promise<void> {
  const logBefore = fixture.logText().length;
  assert.equal(await connackOf(fixture.connectProvision(options)), code, `CONNACK to ${options.clientId}`);
  const row = rowOf('connack', code);
  if (row.errorCodes.length === 0) return observed.add('connack', code, '–');
  const logged = loggedRefusal(fixture.logText().slice(logBefore), options.clientId);
  if (logged === undefined) assert.equal(code, 3, `no "CONNECT refused" line names the code of CONNACK ${code}`);
  const named = logged ?? errorCode;
  assert.ok(named && row.errorCodes.includes(named), `CONNACK ${code} with ${named}, not one of ${row.errorCodes.join(', ')}`);
  if (errorCode) assert.equal(named, errorCode);
  observed.add('connack', code, named);
}

/** The return code of the CONNACK answering the raw CONNECT `packet` on the plain TCP listener. */
export function rawConnack(fixture: TestPlatform, packet: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port: fixture.platform.provisionBroker.mqttPort! });
    socket.setTimeout(5_000, () => socket.destroy(new Error('no CONNACK within 5 s')));
    socket.once('error', reject);
    socket.once('connect', () => socket.write(packet));
    socket.once('data', (data) => {
      socket.destroy();
      if (data[0] === 0x20 && data.length >= 4) resolve(data[3]!);
      else reject(new Error(`not a CONNACK: ${data.toString('hex')}`));
    });
  });
}

/** An MQTT 5 CONNECT: protocol "MQTT" level 5, clean start, keep-alive 30 s, no properties. */
export function mqtt5Connect(clientId: string): Buffer {
  const id = Buffer.from(clientId);
  const body = Buffer.concat([Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x05, 0x02, 0x00, 0x1e, 0x00, 0x00, id.length]), id]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}
