/**
 * The configuration schema (TypeBox): every setting, its type, default and meaning, and the type
 * PlatformConfig derived from it. The README table is checked against it (test/config.test.ts),
 * so a setting cannot go undocumented.
 */
import { OptionalKind, Type, type SchemaOptions, type Static, type TProperties, type TUnsafe } from '@sinclair/typebox';
import { certificateSettings } from './certificate-schema.ts';
import { auditSettings, protectionSettings } from './protection-schema.ts';
import { webhookSettings } from './webhook-schema.ts';
import { enrollmentSettings } from './enrollment-schema.ts';
import { redisSentinelSettings } from './redis-schema.ts';

/** A string enumeration as a JSON Schema `enum` (TypeBox's union of literals would be an anyOf of consts). */
function stringEnum<const Values extends readonly string[]>(values: Values, options: SchemaOptions): TUnsafe<Values[number]> {
  return Type.Unsafe<Values[number]>({ ...options, type: 'string', enum: values });
}

/** Shortest passphrase accepted, from the variable or from the first line of the file (certs/key-passphrase.ts). */
export const caKeyPassphraseMinLength = 16;

/**
 * A setting with a default may be left out: the JSON Schema keeps it out of `required`, yet its
 * type says it is there, because ajv's useDefaults fills it in before loadConfig returns (the same
 * rule as withDefault in api/schemas/common.ts).
 */
function defaultedSettingsOptional<Properties extends TProperties>(properties: Properties): Properties {
  const entries = Object.entries(properties).map(([key, schema]) => [key, 'default' in schema ? { ...schema, [OptionalKind]: 'Optional' } : schema]);
  return Object.fromEntries(entries) as Properties;
}

export const configSchema = Type.Object(
  defaultedSettingsOptional({
    dataDir: Type.String({
      minLength: 1,
      default: './data',
      description: 'Directory for the SQLite store, the CA keys and certificates, and uploaded bundles.',
    }),
    logLevel: stringEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      default: 'info',
      description: 'Log level (pino).',
    }),
    storeBackend: stringEnum(['sqlite', 'redis'], {
      default: 'sqlite',
      description: 'Where provision requests, accounts, certificates and the audit log live.',
    }),
    sqliteSynchronous: stringEnum(['normal', 'full'], {
      default: 'normal',
      description:
        'SQLite durability in WAL mode: normal keeps every commit through a process crash (a power loss may drop the last ones); full also survives power loss, at a large cost per write.',
    }),
    redisUrl: Type.String({
      default: 'redis://127.0.0.1:6379',
      description: 'Redis URL, used when the store backend is redis.',
    }),
    redisKeyPrefix: Type.String({
      pattern: '^[A-Za-z0-9_.:-]*$',
      default: 'provisio:',
      description: 'Prefix of every Redis key, so several platforms can share one Redis.',
    }),
    ...redisSentinelSettings,
    brokerSharedState: stringEnum(['none', 'redis'], {
      default: 'none',
      description:
        'Cluster mode of the brokers: none (one process, state in memory) or redis (MQTT sessions, retained messages and QoS 1 in-flight state in Redis, and one topic space shared by every broker process through PROVISIO_REDIS_URL).',
    }),
    brokerCleanSessionsInRedis: Type.Boolean({
      default: false,
      description:
        'With shared state on Redis: also send the will bookkeeping of clean-session clients without a will to Redis (false keeps it in memory: nothing reads it).',
    }),
    provisionStreamMaxLength: Type.Integer({
      minimum: 1000,
      default: 100000,
      description: 'Cluster mode: approximate bound (XADD MAXLEN ~) of the Redis stream of provision messages waiting for provisioner workers.',
    }),
    provisionStreamClaimIdleMs: Type.Integer({
      minimum: 1000,
      default: 30000,
      description: 'Cluster mode: a provision message a worker took but did not acknowledge for this long is taken over by another worker (XAUTOCLAIM).',
    }),
    sessionEndStreamMaxLength: Type.Integer({
      minimum: 1000,
      default: 10000,
      description:
        'Cluster mode: approximate bound (XADD MAXLEN ~) of the Redis stream of session-end notices (revoked certificates, disabled or deleted requests, deleted accounts) read by every broker process; a broker that finds notices it had not read trimmed ends all its device sessions.',
    }),
    provisionerConcurrency: Type.Integer({
      minimum: 1,
      maximum: 1024,
      default: 32,
      description: 'Cluster mode: provision messages one provisioner worker handles at once.',
    }),
    healthPort: Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 8090,
      description: 'HTTP port of /healthz and /readyz of the separate broker, provisioner and API processes (0 picks a free port).',
    }),
    metricsPort: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 65535,
        description:
          'HTTP port of a listener of its own for Prometheus /metrics, without authentication (an internal port). Unset: /metrics is served on the health port of a cluster process, and on the API port to a global API token (any scope).',
      }),
    ),
    accountBrokerUrl: Type.Optional(
      Type.String({
        pattern: '^mqtts://',
        description:
          'Account broker URL handed to devices (next.brokerUrl). Unset: mqtts://{first public host name}:{PROVISIO_ACCOUNT_MQTTS_PORT}; set it when a load balancer or DNS name fronts several brokers.',
      }),
    ),
    publicHttpUrl: Type.Optional(
      Type.String({
        pattern: '^https?://',
        description:
          'Base URL of the admin API as devices reach it, for bundle download links. Unset: http://{first public host name}:{PROVISIO_HTTP_PORT} (the all-in-one process uses the port it listens on).',
      }),
    ),
    bindHost: Type.String({
      minLength: 1,
      default: '0.0.0.0',
      description: 'Address every listener binds to.',
    }),
    publicHostnames: Type.Array(Type.String({ pattern: '^[A-Za-z0-9.:-]+$' }), {
      default: ['localhost'],
      description:
        'Comma-separated host names devices use to reach the platform: put in the server certificate (beside localhost and 127.0.0.1); the first one goes into broker URLs handed to devices.',
    }),
    provisionMqttPort: Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 1883,
      description: 'Provision broker, MQTT over TCP (0 picks a free port).',
    }),
    provisionMqttEnabled: Type.Boolean({
      default: true,
      description: 'Whether the plain-TCP provision listener runs (false = TLS-only mode).',
    }),
    allowKeyGenerationOverPlainMqtt: Type.Boolean({
      default: false,
      description:
        'Whether the platform may send a generated private key to a device that asked without a CSR over plain TCP (port 1883), where anyone on the path reads it. false: such a request is answered 426 KEY_GENERATION_NEEDS_TLS; the device must send a CSR or use TLS.',
    }),
    provisionMqttsPort: Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 8883,
      description: 'Provision broker, MQTT over TLS (0 picks a free port).',
    }),
    accountMqttsPort: Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 8884,
      description: 'Account broker, MQTT over mutual TLS (0 picks a free port).',
    }),
    httpPort: Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 8080,
      description: 'Admin HTTP API and bundle downloads (0 picks a free port).',
    }),
    provisioningAccount: Type.String({
      pattern: '^[A-Za-z0-9_-]{1,64}$',
      default: 'provisioning',
      description: 'The account every device being provisioned shares on the provision broker ($EDC/{this}/...).',
    }),
    adminToken: Type.Optional(
      Type.String({
        minLength: 24,
        description:
          'Admin API bearer token. When unset, one is generated at first start, written once to {dataDir}/admin-token (mode 0600; only the path is printed) and stored hashed.',
      }),
    ),
    internalUsername: Type.String({
      pattern: '^[A-Za-z0-9_.-]{1,64}$',
      default: 'provisio-internal',
      description: "MQTT user name of the platform's own workers (the provisioner) on the brokers.",
    }),
    internalPassword: Type.Optional(
      Type.String({
        minLength: 24,
        description:
          "MQTT password of the platform's own workers. Unset in the all-in-one process: a random one is made at each start. Required when workers run as separate processes.",
      }),
    ),
    caRootCertFile: Type.Optional(
      Type.String({
        description: 'Operator-supplied root CA certificate (PEM). Set with the two below to use your own CA instead of the generated one.',
      }),
    ),
    caIssuingCertFile: Type.Optional(
      Type.String({
        description: 'Operator-supplied issuing (intermediate) CA certificate (PEM), signed by the root.',
      }),
    ),
    caIssuingKeyFile: Type.Optional(
      Type.String({
        description: 'Private key (PEM, PKCS#8, unencrypted or encrypted with the CA key passphrase) of the operator-supplied issuing CA.',
      }),
    ),
    caKeyPassphrase: Type.Optional(
      Type.String({
        minLength: caKeyPassphraseMinLength,
        description:
          'Encrypts the private keys the platform writes (issuing CA, server, signing, and the root key of the first start: encrypted PKCS#8, AES-256-CBC) and the secrets file (scrypt, AES-256-GCM); without it they cannot be read, and start-up stops with CA_MATERIAL_INVALID. Unset: they are written unencrypted, readable by the platform user only (mode 0600). Prefer the _FILE variant.',
      }),
    ),
    caKeyPassphraseFile: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'File whose first line is the CA key passphrase, instead of PROVISIO_CA_KEY_PASSPHRASE (keeps it out of the environment). Set one of the two at most.',
      }),
    ),
    secretsFile: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'File holding the secrets that derive the keys of devices without a CSR and sign bundle download links (never in the store). Unset: {dataDir}/secrets/platform-secrets.json, created at first start (mode 0600, directory 0700). Every process of a cluster reads the same file. Rotation: docs/OPERATIONS.md.',
      }),
    ),
    certKeyAlgorithm: stringEnum(['ec', 'rsa'], {
      default: 'ec',
      description: 'Key type of generated CA, server and signing keys, and of device keys generated on the server (EC P-256 or RSA-2048).',
    }),
    deviceCertValidityDays: Type.Integer({
      minimum: 1,
      maximum: 36500,
      default: 365,
      description: 'Validity of issued device client certificates, in days.',
    }),
    ...certificateSettings,
    requestDefaultValidityDays: Type.Integer({
      minimum: 1,
      maximum: 3650,
      default: 7,
      description: 'Default lifetime of a provision request (expiresOn) when none is given, in days.',
    }),
    ...protectionSettings,
    maxMessageBytes: Type.Integer({
      minimum: 1024,
      default: 65536,
      description: 'Largest MQTT packet the brokers accept.',
    }),
    bundleMaxBytes: Type.Integer({
      minimum: 1,
      default: 52428800,
      description: 'Largest application bundle that can be uploaded.',
    }),
    bundleTokenTtlSeconds: Type.Integer({
      minimum: 10,
      default: 900,
      description: 'Lifetime of the signed bundle download links sent to devices.',
    }),
    crlValiditySeconds: Type.Integer({
      minimum: 2,
      maximum: 31536000,
      default: 604800,
      description: 'Validity of the published CRL (nextUpdate − thisUpdate). The API signs a new list after every revocation and when half of this has passed.',
    }),
    httpBodyLimitBytes: Type.Integer({
      minimum: 1024,
      default: 1048576,
      description: 'Largest JSON body the admin API accepts.',
    }),
    ...auditSettings,
    ...webhookSettings,
    ...enrollmentSettings,
  }),
  { additionalProperties: false },
);

/** The validated configuration: frozen, its arrays included. */
export type PlatformConfig = { readonly [K in keyof Settings]: Settings[K] extends readonly (infer Item)[] ? readonly Item[] : Settings[K] };
type Settings = Static<typeof configSchema>;

export type ConfigKey = keyof typeof configSchema.properties;

/** PROVISIO_ + the key in SCREAMING_SNAKE_CASE: dataDir -> PROVISIO_DATA_DIR. */
export function envNameOf(key: ConfigKey): string {
  return `PROVISIO_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

export const configFileEnvName = 'PROVISIO_CONFIG_FILE';
