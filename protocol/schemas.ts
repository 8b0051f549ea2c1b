/**
 * JSON Schemas of every protocol message (Kura "simple JSON": {sentOn, metrics, body}), written
 * with TypeBox, and the TypeScript type of each, derived from it (Static). The broker-side
 * validator and any agent use these same objects.
 */
import { Type, type SchemaOptions, type Static, type TUnsafe } from '@sinclair/typebox';

/** A string enumeration as a JSON Schema `enum` (TypeBox's union of literals would be an anyOf of consts). */
function stringEnum<const Values extends readonly string[]>(values: Values, options: SchemaOptions = {}): TUnsafe<Values[number]> {
  return Type.Unsafe<Values[number]>({ ...options, type: 'string', enum: values });
}

/** Static<> types are mutable; what a decoder returns is read-only at every level. */
export type Immutable<T> = T extends readonly (infer Item)[] ? readonly Immutable<Item>[] : T extends object ? { readonly [K in keyof T]: Immutable<T[K]> } : T;

const requestId = Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' });
const clientId = Type.String({ minLength: 1, maxLength: 128 });
const shortText = Type.String({ maxLength: 128 });
const pem = Type.String({ maxLength: 16384 });
const sha256Hex = Type.String({ pattern: '^[0-9a-f]{64}$' });
const sentOn = Type.Integer({ minimum: 0 });
const signatureAlgorithm = stringEnum(['SHA256withECDSA', 'SHA256withRSA']);

export type SignatureAlgorithm = Static<typeof signatureAlgorithm>;

/** Building blocks shared with the schemas of other exchanges (protocol/renewal.ts). */
export const schemaParts = { requestId, clientId, pem, sentOn, signatureAlgorithm } as const;

/**
 * When the device should renew the certificate a signed body carries (CERT-V1, PROTOCOL.md §13):
 * `after` = notBefore + share × validity, `notAfter` = the certificate's notAfter; both in ms.
 */
export const renewalWindowSchema = Type.Object(
  {
    after: Type.Integer({ minimum: 0 }),
    notAfter: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: true },
);

/**
 * A new root the platform introduces (PROTOCOL.md §7, "A new root"): `nextRoot` is root 2,
 * self-signed; `nextRootCross` is the same subject and key signed by root 1, which a device checks
 * against the root it holds before it trusts `nextRoot` beside it. Present while a next root exists.
 */
export const nextRootTrustSchema = Type.Object(
  {
    nextRoot: pem,
    nextRootCross: pem,
  },
  { additionalProperties: true },
);

export type NextRootTrust = Immutable<Static<typeof nextRootTrustSchema>>;

export const provisionRequestSchema = Type.Object(
  {
    sentOn,
    metrics: Type.Object(
      {
        'request.id': requestId,
        'requester.client.id': clientId,
        'activation.key': Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
        csr: Type.Optional(pem),
        'device.model': Type.Optional(shortText),
        'device.serial': Type.Optional(shortText),
        'device.firmware': Type.Optional(shortText),
      },
      { additionalProperties: false },
    ),
  },
  { $id: 'provisio:provision-request', additionalProperties: false },
);

/** A provision request as it travels (protocol/messages.ts decodes it to a ProvisionRequestMessage). */
export type ProvisionRequestPayload = Static<typeof provisionRequestSchema>;

export const provisionCompleteSchema = Type.Object(
  {
    sentOn,
    metrics: Type.Object(
      {
        'request.id': requestId,
        'requester.client.id': clientId,
        'provision.request.id': requestId,
        'configuration.hash': sha256Hex,
        'bundles.installed': Type.Optional(Type.String({ maxLength: 4096 })),
      },
      { additionalProperties: false },
    ),
  },
  { $id: 'provisio:provision-complete', additionalProperties: false },
);

export type ProvisionCompletePayload = Static<typeof provisionCompleteSchema>;

export const replySchema = Type.Object(
  {
    sentOn,
    metrics: Type.Object(
      {
        'request.id': requestId,
        'response.code': Type.Integer({ minimum: 100, maximum: 599 }),
        'response.exception.message': Type.Optional(Type.String({ maxLength: 1024 })),
        'retry.after.seconds': Type.Optional(Type.Integer({ minimum: 0 })),
        signature: Type.Optional(Type.String({ maxLength: 2048 })),
        'signature.algorithm': Type.Optional(signatureAlgorithm),
      },
      // Agents MUST ignore metrics they do not know (PROTOCOL.md §4): the platform may add some.
      { additionalProperties: true },
    ),
    /** base64 of the signed document's exact bytes (a UTF-8 JSON text). */
    body: Type.Optional(Type.String({ maxLength: 1048576 })),
  },
  { $id: 'provisio:reply', additionalProperties: true },
);

/** A reply as it travels; the type names only the members the protocol defines (others are accepted and ignored). */
export type ReplyPayload = Static<typeof replySchema>;

/** The signer's certificates, carried by every signed body. */
const signerCertificates = Type.Object(
  {
    /** Issuing CA, then root. */
    chain: Type.Array(pem, { minItems: 1, maxItems: 4 }),
    signing: pem,
  },
  { additionalProperties: true },
);

/**
 * The signed document inside a successful provisioning reply. Signed bodies are read leniently:
 * an agent MUST ignore fields it does not know (PROTOCOL.md §7), so the platform may add some.
 */
export const provisionResultSchema = Type.Object(
  {
    clientId,
    /** The request.id this result answers. */
    requestId,
    account: Type.String({ minLength: 1, maxLength: 64 }),
    issuedOn: Type.Integer({ minimum: 0 }),
    certificates: Type.Object(
      {
        client: pem,
        clientKey: Type.Optional(pem),
        chain: Type.Array(pem, { minItems: 1, maxItems: 4 }),
        signing: pem,
      },
      { additionalProperties: true },
    ),
    configuration: Type.Object(
      {
        content: Type.String({ maxLength: 262144 }),
        sha256: sha256Hex,
      },
      { additionalProperties: true },
    ),
    bundles: Type.Array(
      Type.Object(
        {
          name: Type.String({ minLength: 1, maxLength: 128 }),
          version: Type.String({ minLength: 1, maxLength: 64 }),
          size: Type.Integer({ minimum: 0 }),
          sha256: sha256Hex,
          url: Type.String({ minLength: 1, maxLength: 2048 }),
        },
        { additionalProperties: true },
      ),
      { maxItems: 9 },
    ),
    next: Type.Object(
      {
        brokerUrl: Type.String({ minLength: 1, maxLength: 2048 }),
        clientId,
        account: Type.String({ minLength: 1, maxLength: 64 }),
        auth: stringEnum(['client-certificate']),
      },
      { additionalProperties: true },
    ),
    /** Since revision 3 (CERT-V1); older platforms leave it out, older agents ignore it. */
    renewal: Type.Optional(renewalWindowSchema),
    /** Since revision 4 (a new root): present while the platform introduces a next root. */
    trust: Type.Optional(nextRootTrustSchema),
  },
  { $id: 'provisio:provision-result', additionalProperties: true },
);

export type ProvisionResult = Immutable<Static<typeof provisionResultSchema>>;

/**
 * The signed body of every reply that is not a provision result: errors, and the answer to a
 * completion report. It names the exchange, so that it cannot be replayed to another one.
 */
export const replyStatementSchema = Type.Object(
  {
    clientId,
    requestId,
    responseCode: Type.Integer({ minimum: 100, maximum: 599 }),
    message: Type.Optional(Type.String({ maxLength: 1024 })),
    retryAfterSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
    certificates: signerCertificates,
  },
  { $id: 'provisio:reply-statement', additionalProperties: true },
);

export type ReplyStatement = Immutable<Static<typeof replyStatementSchema>>;

/** Every signed body names the exchange it answers (the device and the request.id) and carries the signer's certificates. */
export type SignedDocument = Pick<ReplyStatement, 'clientId' | 'requestId' | 'certificates'>;

/** Birth message on the account broker ($EDC/{account}/{clientId}/MQTT/BIRTH). */
export const birthSchema = Type.Object(
  {
    sentOn,
    metrics: Type.Object(
      {
        'configuration.hash': sha256Hex,
        model_name: Type.Optional(shortText),
        serial_number: Type.Optional(shortText),
        firmware_version: Type.Optional(shortText),
        /** Since revision 4: the roots the device trusts, comma-separated lower-case hex SHA-256 of each certificate's DER. */
        'trust.roots': Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}(,[0-9a-f]{64}){0,7}$' })),
      },
      { additionalProperties: true },
    ),
  },
  { $id: 'provisio:birth', additionalProperties: false },
);

export type BirthPayload = Static<typeof birthSchema>;

/**
 * A birth in KuraPayload protobuf (an Eclipse Kura or ESF gateway, docs/PROTOCOL.md §4 and §10):
 * the same metrics, `configuration.hash` optional, since Kura's birth certificate has no such metric.
 */
export const kuraBirthSchema = Type.Object(
  {
    sentOn,
    metrics: Type.Object({ ...birthSchema.properties.metrics.properties, 'configuration.hash': Type.Optional(sha256Hex) }, { additionalProperties: true }),
  },
  { $id: 'provisio:birth-kura', additionalProperties: false },
);

export type KuraBirthPayload = Static<typeof kuraBirthSchema>;
