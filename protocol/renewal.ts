/**
 * CERT-V1: certificate renewal on the account broker (docs/PROTOCOL.md §13). A device sends a
 * CSR for a new key on `EXEC/renew` and gets a signed reply on `REPLY/{request.id}` (the §6
 * envelope of protocol/messages.ts, signed as in §7); the platform may tell it to renew now on
 * `PUT/renew`. Topics, schemas, and the encoders and decoders of each message.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { check, decodeReply, defaultMaxMessageBytes, encodeReply, parseJson, ProtocolError, type SignatureAlgorithm } from './messages.ts';
import { ResponseCode } from './response-codes.ts';
import { nextRootTrustSchema, renewalWindowSchema, replySchema, schemaParts, type Immutable } from './schemas.ts';
import { deviceNamespace } from './topics.ts';

export const certificateApp = 'CERT-V1';

/** Device → platform: "here is a CSR for my new key". */
export function renewalRequestTopic(account: string, clientId: string): string {
  return `${deviceNamespace(account, clientId)}/${certificateApp}/EXEC/renew`;
}

/** Platform → device: the answer to the renewal request whose request.id is requestId. */
export function renewalReplyTopic(account: string, clientId: string, requestId: string): string {
  return `${deviceNamespace(account, clientId)}/${certificateApp}/REPLY/${requestId}`;
}

/** Platform → device: "renew now" (renew.within.seconds). */
export function renewNowTopic(account: string, clientId: string): string {
  return `${deviceNamespace(account, clientId)}/${certificateApp}/PUT/renew`;
}

/** What a device subscribes to on the account broker after each CONNECT, before it publishes. */
export function renewalDeviceFilters(account: string, clientId: string): string[] {
  return [`${deviceNamespace(account, clientId)}/${certificateApp}/REPLY/+`, renewNowTopic(account, clientId)];
}

/** The platform's subscription on the account broker: every device's renewal requests. */
export const platformRenewalFilter = `$EDC/+/+/${certificateApp}/EXEC/renew`;

export const renewalRequestSchema = Type.Object(
  {
    sentOn: schemaParts.sentOn,
    metrics: Type.Object(
      {
        'request.id': schemaParts.requestId,
        'requester.client.id': schemaParts.clientId,
        csr: schemaParts.pem,
      },
      { additionalProperties: false },
    ),
  },
  { $id: 'provisio:renewal-request', additionalProperties: false },
);

/** A renewal request as it travels. */
export type RenewalRequestPayload = Static<typeof renewalRequestSchema>;

/** The signed body of a 200 to a renewal request. Read leniently, like every signed body (§7). */
export const renewalResultSchema = Type.Object(
  {
    clientId: schemaParts.clientId,
    /** The request.id this result answers. */
    requestId: schemaParts.requestId,
    account: Type.String({ minLength: 1, maxLength: 64 }),
    issuedOn: Type.Integer({ minimum: 0 }),
    certificates: Type.Object(
      {
        client: schemaParts.pem,
        /** The current issuing CA, then root. */
        chain: Type.Array(schemaParts.pem, { minItems: 1, maxItems: 4 }),
        signing: schemaParts.pem,
      },
      { additionalProperties: true },
    ),
    renewal: renewalWindowSchema,
    /** Since revision 4 (a new root): present while the platform introduces a next root (PROTOCOL.md §7). */
    trust: Type.Optional(nextRootTrustSchema),
  },
  { $id: 'provisio:renewal-result', additionalProperties: true },
);

export type RenewalResult = Immutable<Static<typeof renewalResultSchema>>;

/** "Renew now": a §6 reply envelope with `renew.within.seconds`, its signed body a reply statement. */
export const renewNowSchema = Type.Object(
  {
    ...replySchema.properties,
    metrics: Type.Object(
      {
        ...replySchema.properties.metrics.properties,
        'renew.within.seconds': Type.Integer({ minimum: 0 }),
      },
      { additionalProperties: true },
    ),
  },
  { $id: 'provisio:renew-now', additionalProperties: true },
);

export type RenewNowPayload = Static<typeof renewNowSchema>;

export interface RenewalRequestMessage {
  readonly sentOn: number;
  readonly requestId: string;
  readonly requesterClientId: string;
  readonly csr: string;
}

export interface RenewNowCommand {
  readonly sentOn: number;
  readonly requestId: string;
  /** The device starts its renewal at a random moment within this many seconds. */
  readonly renewWithinSeconds: number;
  readonly signature: string;
  readonly signatureAlgorithm: SignatureAlgorithm;
  /** The exact signed bytes: a reply statement (decodeReplyStatement), responseCode 200. */
  readonly body: Buffer;
}

const ajv = new Ajv({ allErrors: false, strict: true });
const validators = {
  request: ajv.compile<RenewalRequestPayload>(renewalRequestSchema),
  result: ajv.compile<RenewalResult>(renewalResultSchema),
  renewNow: ajv.compile<RenewNowPayload>(renewNowSchema),
};

export function encodeRenewalRequest(message: Omit<RenewalRequestMessage, 'sentOn'> & { sentOn?: number }): Buffer {
  const metrics: RenewalRequestPayload['metrics'] = {
    'request.id': message.requestId,
    'requester.client.id': message.requesterClientId,
    csr: message.csr,
  };
  return Buffer.from(JSON.stringify({ sentOn: message.sentOn ?? Date.now(), metrics }));
}

export function decodeRenewalRequest(payload: Buffer | string, maxBytes = defaultMaxMessageBytes): RenewalRequestMessage {
  const envelope = check(validators.request, parseJson(payload, 'renewal request', maxBytes), 'renewal request');
  const m = envelope.metrics;
  return { sentOn: envelope.sentOn, requestId: m['request.id'], requesterClientId: m['requester.client.id'], csr: m.csr };
}

export function encodeRenewalResult(result: RenewalResult): Buffer {
  return Buffer.from(JSON.stringify(result));
}

/** Parses the signed body of a 200 to a renewal request. Verify the signature over `body` first (signing.ts). */
export function decodeRenewalResult(body: Buffer): RenewalResult {
  return check(validators.result, parseJson(body, 'renewal result', 1024 * 1024), 'renewal result');
}

export function encodeRenewNow(command: Omit<RenewNowCommand, 'sentOn'> & { sentOn?: number }): Buffer {
  const envelope = JSON.parse(encodeReply({ ...command, responseCode: ResponseCode.ok }).toString('utf8')) as RenewNowPayload;
  envelope.metrics['renew.within.seconds'] = command.renewWithinSeconds;
  return Buffer.from(JSON.stringify(envelope));
}

/** The command as it travels; verify `signature` over `body` (§7) before acting on it. */
export function decodeRenewNow(payload: Buffer | string, maxBytes = 1024 * 1024 * 2): RenewNowCommand {
  const envelope = check(validators.renewNow, parseJson(payload, 'renew-now command', maxBytes), 'renew-now command');
  const reply = decodeReply(JSON.stringify(envelope), maxBytes);
  if (reply.responseCode !== ResponseCode.ok) throw new ProtocolError(`renew-now command has response.code ${reply.responseCode}, not 200`);
  if (!reply.body || !reply.signature || !reply.signatureAlgorithm) throw new ProtocolError('renew-now command is not signed');
  return {
    sentOn: reply.sentOn,
    requestId: reply.requestId,
    renewWithinSeconds: envelope.metrics['renew.within.seconds'],
    signature: reply.signature,
    signatureAlgorithm: reply.signatureAlgorithm,
    body: reply.body,
  };
}
