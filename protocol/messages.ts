import { Ajv, type ValidateFunction } from 'ajv';
import { decodeDevicePayload, type PayloadEncoding } from './payload-encoding.ts';
import { ResponseCode } from './response-codes.ts';
import {
  birthSchema,
  kuraBirthSchema,
  provisionCompleteSchema,
  provisionRequestSchema,
  provisionResultSchema,
  replySchema,
  replyStatementSchema,
  type BirthPayload,
  type KuraBirthPayload,
  type ProvisionCompletePayload,
  type ProvisionRequestPayload,
  type ProvisionResult,
  type ReplyPayload,
  type ReplyStatement,
  type SignatureAlgorithm,
} from './schemas.ts';

export type { ProvisionResult, ReplyStatement, SignatureAlgorithm, SignedDocument } from './schemas.ts';

/** Thrown by decoders: the message is not what the protocol allows. */
export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly responseCode: number = ResponseCode.badRequest,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/*
 * The decoded messages below are a view of the payloads (protocol/schemas.ts), renamed and
 * converted (bundles.installed split, body from base64), not a second description of them: each
 * decoder reads the Static<> type of its schema without a cast, so a schema change the view does
 * not follow fails to compile.
 */

export interface ProvisionRequestMessage {
  readonly sentOn: number;
  readonly requestId: string;
  readonly requesterClientId: string;
  readonly activationKey?: string;
  readonly csr?: string;
  readonly device: { readonly model?: string; readonly serial?: string; readonly firmware?: string };
}

export interface ProvisionCompleteMessage {
  readonly sentOn: number;
  readonly requestId: string;
  readonly requesterClientId: string;
  readonly provisionRequestId: string;
  readonly configurationHash: string;
  /** name@version of each installed bundle. */
  readonly bundlesInstalled: readonly string[];
}

export interface ReplyMessage {
  readonly sentOn: number;
  readonly requestId: string;
  readonly responseCode: number;
  readonly message?: string;
  readonly retryAfterSeconds?: number;
  readonly signature?: string;
  readonly signatureAlgorithm?: SignatureAlgorithm;
  /** The exact signed bytes (decoded from base64). */
  readonly body?: Buffer;
}

const ajv = new Ajv({ allErrors: false, strict: true });
const validators = {
  request: ajv.compile<ProvisionRequestPayload>(provisionRequestSchema),
  complete: ajv.compile<ProvisionCompletePayload>(provisionCompleteSchema),
  reply: ajv.compile<ReplyPayload>(replySchema),
  result: ajv.compile<ProvisionResult>(provisionResultSchema),
  statement: ajv.compile<ReplyStatement>(replyStatementSchema),
  birth: ajv.compile<BirthPayload>(birthSchema),
  kuraBirth: ajv.compile<KuraBirthPayload>(kuraBirthSchema),
};

export function parseJson(payload: Buffer | string, what: string, maxBytes: number): unknown {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  if (size > maxBytes) throw new ProtocolError(`${what} is larger than ${maxBytes} bytes`, ResponseCode.tooLarge);
  try {
    return JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch {
    throw new ProtocolError(`${what} is not valid JSON`);
  }
}

export function check<T>(validate: ValidateFunction<T>, value: unknown, what: string): T {
  if (!validate(value)) {
    const first = validate.errors?.[0];
    const where = first?.instancePath || '/';
    throw new ProtocolError(`${what} is invalid at ${where}: ${first?.message ?? 'schema violation'}`);
  }
  return value;
}

export const defaultMaxMessageBytes = 65536;

export function decodeProvisionRequest(payload: Buffer | string, maxBytes = defaultMaxMessageBytes): ProvisionRequestMessage {
  const envelope = check(validators.request, parseJson(payload, 'provision request', maxBytes), 'provision request');
  const m = envelope.metrics;
  const device: { model?: string; serial?: string; firmware?: string } = {};
  if (m['device.model'] !== undefined) device.model = m['device.model'];
  if (m['device.serial'] !== undefined) device.serial = m['device.serial'];
  if (m['device.firmware'] !== undefined) device.firmware = m['device.firmware'];
  return {
    sentOn: envelope.sentOn,
    requestId: m['request.id'],
    requesterClientId: m['requester.client.id'],
    ...(m['activation.key'] !== undefined ? { activationKey: m['activation.key'] } : {}),
    ...(m['csr'] !== undefined ? { csr: m['csr'] } : {}),
    device,
  };
}

export function encodeProvisionRequest(message: Omit<ProvisionRequestMessage, 'sentOn'> & { sentOn?: number }): Buffer {
  const metrics: ProvisionRequestPayload['metrics'] = {
    'request.id': message.requestId,
    'requester.client.id': message.requesterClientId,
    'activation.key': message.activationKey,
    csr: message.csr,
    'device.model': message.device.model,
    'device.serial': message.device.serial,
    'device.firmware': message.device.firmware,
  };
  return Buffer.from(JSON.stringify({ sentOn: message.sentOn ?? Date.now(), metrics }));
}

export function decodeProvisionComplete(payload: Buffer | string, maxBytes = defaultMaxMessageBytes): ProvisionCompleteMessage {
  const envelope = check(validators.complete, parseJson(payload, 'completion report', maxBytes), 'completion report');
  const m = envelope.metrics;
  const installed = m['bundles.installed'] ?? '';
  return {
    sentOn: envelope.sentOn,
    requestId: m['request.id'],
    requesterClientId: m['requester.client.id'],
    provisionRequestId: m['provision.request.id'],
    configurationHash: m['configuration.hash'],
    bundlesInstalled: installed === '' ? [] : installed.split(','),
  };
}

export function encodeProvisionComplete(message: Omit<ProvisionCompleteMessage, 'sentOn'> & { sentOn?: number }): Buffer {
  const metrics: ProvisionCompletePayload['metrics'] = {
    'request.id': message.requestId,
    'requester.client.id': message.requesterClientId,
    'provision.request.id': message.provisionRequestId,
    'configuration.hash': message.configurationHash,
    'bundles.installed': message.bundlesInstalled.join(','),
  };
  return Buffer.from(JSON.stringify({ sentOn: message.sentOn ?? Date.now(), metrics }));
}

export function encodeReply(reply: Omit<ReplyMessage, 'sentOn'> & { sentOn?: number }): Buffer {
  const metrics: ReplyPayload['metrics'] = {
    'request.id': reply.requestId,
    'response.code': reply.responseCode,
    'response.exception.message': reply.message,
    'retry.after.seconds': reply.retryAfterSeconds,
    signature: reply.signature,
    'signature.algorithm': reply.signatureAlgorithm,
  };
  const envelope: ReplyPayload = { sentOn: reply.sentOn ?? Date.now(), metrics };
  if (reply.body) envelope.body = reply.body.toString('base64');
  return Buffer.from(JSON.stringify(envelope));
}

export function decodeReply(payload: Buffer | string, maxBytes = 1024 * 1024 * 2): ReplyMessage {
  const envelope = check(validators.reply, parseJson(payload, 'reply', maxBytes), 'reply');
  const m = envelope.metrics;
  return {
    sentOn: envelope.sentOn,
    requestId: m['request.id'],
    responseCode: m['response.code'],
    ...(m['response.exception.message'] !== undefined ? { message: m['response.exception.message'] } : {}),
    ...(m['retry.after.seconds'] !== undefined ? { retryAfterSeconds: m['retry.after.seconds'] } : {}),
    ...(m['signature'] !== undefined ? { signature: m['signature'] } : {}),
    ...(m['signature.algorithm'] !== undefined ? { signatureAlgorithm: m['signature.algorithm'] } : {}),
    ...(envelope.body !== undefined ? { body: Buffer.from(envelope.body, 'base64') } : {}),
  };
}

/** Parses the signed body of a 200 reply. Verify the signature over `body` first (signing.ts). */
export function decodeProvisionResult(body: Buffer): ProvisionResult {
  return check(validators.result, parseJson(body, 'provision result', 1024 * 1024), 'provision result');
}

export function encodeProvisionResult(result: ProvisionResult): Buffer {
  return Buffer.from(JSON.stringify(result));
}

export function encodeReplyStatement(statement: ReplyStatement): Buffer {
  return Buffer.from(JSON.stringify(statement));
}

/** Parses the signed body of a reply other than a provision result. Verify the signature over `body` first. */
export function decodeReplyStatement(body: Buffer): ReplyStatement {
  return check(validators.statement, parseJson(body, 'reply statement', 1024 * 1024), 'reply statement');
}

export interface BirthMessage {
  readonly sentOn: number;
  /** How the device encoded it: what the platform sends it in answer goes in the same encoding (payload-encoding.ts). */
  readonly encoding: PayloadEncoding;
  /** sha256 (hex) of the configuration the device runs; null when it did not say (a KuraPayload birth may not: Kura's has no such metric). */
  readonly configurationHash: string | null;
  readonly model?: string;
  readonly serial?: string;
  readonly firmware?: string;
  /** Since revision 4 (`trust.roots`): the SHA-256 (hex) of each root the device trusts; absent when it did not say. */
  readonly trustedRoots?: readonly string[];
}

/** A birth as JSON, as agent-sim sends it (a JSON birth always names its configuration hash). */
export function encodeBirth(birth: Omit<BirthMessage, 'sentOn' | 'encoding' | 'configurationHash'> & { sentOn?: number; configurationHash: string }): Buffer {
  const metrics: BirthPayload['metrics'] = {
    'configuration.hash': birth.configurationHash,
    model_name: birth.model,
    serial_number: birth.serial,
    firmware_version: birth.firmware,
    'trust.roots': birth.trustedRoots?.join(','),
  };
  return Buffer.from(JSON.stringify({ sentOn: birth.sentOn ?? Date.now(), metrics }));
}

/** A birth in either encoding (docs/PROTOCOL.md §4): Kura's metric names are the JSON birth's (model_name, serial_number, firmware_version). */
export function decodeBirth(payload: Buffer | string, maxBytes = defaultMaxMessageBytes): BirthMessage {
  const { message, encoding } = decodeDevicePayload(payload, 'birth message', maxBytes);
  const envelope = check(encoding === 'json' ? validators.birth : validators.kuraBirth, message, 'birth message');
  const m = envelope.metrics;
  return {
    sentOn: envelope.sentOn,
    encoding,
    configurationHash: m['configuration.hash'] ?? null,
    ...(m['model_name'] !== undefined ? { model: m['model_name'] } : {}),
    ...(m['serial_number'] !== undefined ? { serial: m['serial_number'] } : {}),
    ...(m['firmware_version'] !== undefined ? { firmware: m['firmware_version'] } : {}),
    ...(m['trust.roots'] !== undefined ? { trustedRoots: m['trust.roots'].split(',') } : {}),
  };
}

/** A configuration pushed by the platform on the account broker: signed like a provisioning reply. */
export interface ConfigurationPush {
  readonly sentOn: number;
  readonly requestId: string;
  readonly signature: string;
  readonly signatureAlgorithm: SignatureAlgorithm;
  /** Exact signed bytes: JSON {"content": string, "sha256": hex}. */
  readonly body: Buffer;
}

export function encodeConfigurationPush(push: Omit<ConfigurationPush, 'sentOn'> & { sentOn?: number }): Buffer {
  return encodeReply({ ...push, responseCode: 200 });
}

export function decodeConfigurationPush(payload: Buffer | string): ConfigurationPush {
  const reply = decodeReply(payload);
  if (!reply.body || !reply.signature || !reply.signatureAlgorithm) throw new ProtocolError('configuration push is not signed');
  return { sentOn: reply.sentOn, requestId: reply.requestId, signature: reply.signature, signatureAlgorithm: reply.signatureAlgorithm, body: reply.body };
}
