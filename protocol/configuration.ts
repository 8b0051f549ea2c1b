/**
 * CONF-V1: configuration on the account broker (docs/PROTOCOL.md, "Configuration (CONF-V1)"). The
 * platform puts a signed configuration on `PUT/configuration` (after a birth that reports another
 * hash, or at once when an operator changes what the device should run); the device applies it
 * and answers on `EXEC/result`: applied, with the hash it now runs, or refused, with why (the
 * OpenWiFi ERROR). Topics, schemas, and the encoder and decoder of each message.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { check, defaultMaxMessageBytes, parseJson, ProtocolError } from './messages.ts';
import { decodeDevicePayload } from './payload-encoding.ts';
import { schemaParts, type Immutable } from './schemas.ts';
import { configurationApp, deviceNamespace } from './topics.ts';

/** Device → platform: "I applied (or refused) the configuration of that push". */
export function configurationResultTopic(account: string, clientId: string): string {
  return `${deviceNamespace(account, clientId)}/${configurationApp}/EXEC/result`;
}

/** The platform's subscription on the account broker: every device's configuration results. */
export const platformConfigurationResultFilter = `$EDC/+/+/${configurationApp}/EXEC/result`;

export const configurationResults = ['APPLIED', 'REFUSED'] as const;
export type ConfigurationResultKind = (typeof configurationResults)[number];

/** The longest error.message a device may send (characters). */
export const maxConfigurationErrorLength = 1024;

const sha256Hex = Type.String({ pattern: '^[0-9a-f]{64}$' });

export const configurationResultSchema = Type.Object(
  {
    sentOn: schemaParts.sentOn,
    metrics: Type.Object(
      {
        /** The request.id of the push it answers. */
        'request.id': schemaParts.requestId,
        result: Type.Unsafe<ConfigurationResultKind>({ type: 'string', enum: configurationResults }),
        /** APPLIED: the hash of the configuration the device now runs. REFUSED: the sha256 of the pushed configuration it refused. */
        'configuration.hash': sha256Hex,
        /** Why it refused; required with REFUSED. */
        'error.message': Type.Optional(Type.String({ minLength: 1, maxLength: maxConfigurationErrorLength })),
      },
      { additionalProperties: false },
    ),
  },
  { $id: 'provisio:configuration-result', additionalProperties: false },
);

type ConfigurationResultPayload = Static<typeof configurationResultSchema>;

/** The signed body of a configuration push. Read leniently, like every signed body (§7). */
export const configurationPushBodySchema = Type.Object(
  {
    clientId: schemaParts.clientId,
    requestId: schemaParts.requestId,
    /** The configuration text the device stores and applies. */
    content: Type.String({ maxLength: 1024 * 1024 }),
    /** SHA-256 (hex) of content's UTF-8 bytes: the hash the device then reports. */
    sha256: sha256Hex,
    certificates: Type.Object({ signing: schemaParts.pem, chain: Type.Array(schemaParts.pem, { minItems: 1, maxItems: 4 }) }, { additionalProperties: true }),
    /** The configuration record and its version; absent for the account's template. */
    configurationId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    version: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { $id: 'provisio:configuration-push-body', additionalProperties: true },
);

export type ConfigurationPushBody = Immutable<Static<typeof configurationPushBodySchema>>;

export interface ConfigurationResultMessage {
  readonly sentOn: number;
  readonly requestId: string;
  readonly result: ConfigurationResultKind;
  readonly configurationHash: string;
  /** Present with REFUSED. */
  readonly errorMessage?: string;
}

const ajv = new Ajv({ allErrors: false, strict: true });
const validators = {
  result: ajv.compile<ConfigurationResultPayload>(configurationResultSchema),
  pushBody: ajv.compile<ConfigurationPushBody>(configurationPushBodySchema),
};

export function encodeConfigurationResult(message: Omit<ConfigurationResultMessage, 'sentOn'> & { sentOn?: number }): Buffer {
  const metrics: ConfigurationResultPayload['metrics'] = {
    'request.id': message.requestId,
    result: message.result,
    'configuration.hash': message.configurationHash,
    ...(message.errorMessage !== undefined ? { 'error.message': message.errorMessage } : {}),
  };
  return Buffer.from(JSON.stringify({ sentOn: message.sentOn ?? Date.now(), metrics }));
}

/** ProtocolError for anything but a whole result; REFUSED without error.message included. */
export function decodeConfigurationResult(payload: Buffer | string, maxBytes = defaultMaxMessageBytes): ConfigurationResultMessage {
  // JSON or KuraPayload protobuf (§4), as every device → platform message on the account broker.
  const envelope = check(validators.result, decodeDevicePayload(payload, 'configuration result', maxBytes).message, 'configuration result');
  const m = envelope.metrics;
  if (m.result === 'REFUSED' && m['error.message'] === undefined)
    throw new ProtocolError('configuration result is invalid at /metrics: REFUSED needs error.message');
  return {
    sentOn: envelope.sentOn,
    requestId: m['request.id'],
    result: m.result,
    configurationHash: m['configuration.hash'],
    ...(m['error.message'] !== undefined ? { errorMessage: m['error.message'] } : {}),
  };
}

export function encodeConfigurationPushBody(body: ConfigurationPushBody): Buffer {
  return Buffer.from(JSON.stringify(body));
}

/** Parses the signed body of a configuration push. Verify the signature over it first (signing.ts). */
export function decodeConfigurationPushBody(body: Buffer): ConfigurationPushBody {
  return check(validators.pushBody, parseJson(body, 'configuration push body', 2 * 1024 * 1024), 'configuration push body');
}
