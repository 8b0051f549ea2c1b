import { errorCodes } from '../../errors/catalogue.ts';

/**
 * Building blocks shared by the API schemas. Every schema here is a plain JSON Schema 2020-12
 * object: ajv validates requests with it and api/openapi.ts publishes the very same object.
 */
export type JsonSchema = Readonly<Record<string, unknown>>;

/** Opaque record id as the store hands it out. */
export const idSchema: JsonSchema = { type: 'string', minLength: 1, maxLength: 128 };

export const dateTimeSchema: JsonSchema = {
  type: 'string',
  format: 'date-time',
  description: 'RFC 3339 date-time, e.g. 2030-01-31T12:00:00Z.',
};

/** Name of the JSON Schema format checked by protocol/topics.ts isAcceptableClientId (api/validation.ts). */
export const clientIdFormat = 'mqtt-client-id';

/**
 * MQTT client identifier as a device presents it in CONNECT. The format is the brokers' own rule,
 * so the API accepts exactly the clientIds the brokers accept; maxLength only bounds the input.
 */
export const clientIdSchema: JsonSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 128,
  format: clientIdFormat,
  description:
    "1 to 128 bytes of UTF-8 in Unicode normalization form C; no '/', '+', '#', control or format characters (such as " +
    'U+202E or U+200B), invisible characters, whitespace other than a space, noncharacters or U+FFFD; must not start with ' +
    "'$'. The brokers apply the same rule at CONNECT (CONNACK 2).",
};

export const accountNameSchema: JsonSchema = {
  type: 'string',
  pattern: '^[A-Za-z0-9_-]{1,64}$',
  description: 'Unique account name, used as a topic level: $EDC/{name}/{clientId}/...',
};

export const versionSchema: JsonSchema = {
  type: 'integer',
  minimum: 0,
  description: 'The version read before the change (optimistic locking); a mismatch is 409 VERSION_CONFLICT.',
};

export const pageQueryProperties = {
  offset: { type: 'integer', minimum: 0, maximum: 1_000_000_000, default: 0, description: 'Items to skip.' },
  limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50, description: 'Items per page (at most 1000).' },
} as const satisfies Record<string, JsonSchema>;

export interface PageQuery {
  readonly offset: number;
  readonly limit: number;
}

/** `{ items, total, offset, limit }` around an item schema. */
export function pageSchema(itemSchema: JsonSchema, description: string): JsonSchema {
  return {
    type: 'object',
    description,
    additionalProperties: false,
    required: ['items', 'total', 'offset', 'limit'],
    properties: {
      items: { type: 'array', items: itemSchema },
      total: { type: 'integer', minimum: 0 },
      offset: { type: 'integer', minimum: 0 },
      limit: { type: 'integer', minimum: 1 },
    },
  };
}

export const fieldErrorSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['path', 'message'],
  properties: {
    path: { type: 'string', description: "Where: 'body/...', 'query/...', 'path/...' or 'header/...'." },
    message: { type: 'string' },
  },
};

/** RFC 9457 problem details, extended with the catalogue code. */
export const problemSchema: JsonSchema = {
  type: 'object',
  description: 'RFC 9457 problem details (application/problem+json).',
  required: ['type', 'title', 'status', 'code'],
  properties: {
    type: { type: 'string', format: 'uri', description: 'https://provisio.dev/errors/{code}' },
    title: { type: 'string', description: 'The catalogue message of the code.' },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    detail: { type: 'string' },
    code: { type: 'string', enum: errorCodes },
    instance: { type: 'string', description: 'Path of the request.' },
    errors: { type: 'array', items: fieldErrorSchema },
  },
};
