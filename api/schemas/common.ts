import { Kind, OptionalKind, Type, type SchemaOptions, type Static, type TInteger, type TSchema, type TString, type TUnsafe } from '@sinclair/typebox';
import { errorCodes } from '../../errors/catalogue.ts';

/**
 * Building blocks shared by the API schemas. Each schema is written once with TypeBox: the
 * value is a plain JSON Schema 2020-12 object (TypeBox's symbol keys are invisible to ajv and to
 * JSON), which ajv validates requests with and api/openapi.ts publishes; `Static<typeof schema>`
 * is the TypeScript type of what it accepts.
 */
export type JsonSchema = Readonly<Record<string, unknown>>;

/** The same schema with other or more keywords (a description, say). */
export function withOptions<T extends TSchema>(schema: T, options: SchemaOptions): T {
  return { ...schema, ...options };
}

/**
 * A property that may be left out, and then gets `value`: the JSON Schema leaves it out of
 * `required` and carries `default`; its static type is required, because ajv's useDefaults
 * fills it in before a handler sees the value (api/validation.ts).
 */
export function withDefault<T extends TSchema>(schema: T, value: Static<T>, options: SchemaOptions = {}): T {
  return { ...schema, ...options, default: value, [OptionalKind]: 'Optional' };
}

/**
 * `type: ['string', 'null']` (or integer): one type keyword as before, rather than the
 * `anyOf` of Type.Union, so a wrong value still gets one error ("must be string,null").
 */
export function Nullable<T extends TString | TInteger>(schema: T): TUnsafe<Static<T> | null> {
  return Type.Unsafe<Static<T> | null>({ ...schema, [Kind]: 'Unsafe', type: [schema.type, 'null'] });
}

/** A string of one of `values`, as `enum` (Type.Union of literals would publish an anyOf). */
export function StringEnum<const T extends readonly string[]>(values: T, options: SchemaOptions = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}

/** Any JSON object (`type: 'object'` and nothing else), e.g. a device configuration. */
export function AnyObject(options: SchemaOptions = {}): TUnsafe<Record<string, unknown>> {
  return Type.Unsafe<Record<string, unknown>>({ ...options, type: 'object' });
}

/** Any text on one line: no control character (a line break would split a CSV or log line). */
export const noControlCharacters = '^[^\\u0000-\\u001F\\u007F-\\u009F]+$';

/** Opaque record id as the store hands it out. */
export const idSchema = Type.String({ minLength: 1, maxLength: 128 });

export const dateTimeSchema = Type.String({
  format: 'date-time',
  description: 'RFC 3339 date-time, e.g. 2030-01-31T12:00:00Z.',
});

/** Name of the JSON Schema format checked by protocol/topics.ts isAcceptableClientId (api/validation.ts). */
export const clientIdFormat = 'mqtt-client-id';

/**
 * MQTT client identifier as a device presents it in CONNECT. The format is the brokers' own rule,
 * so the API accepts exactly the clientIds the brokers accept; maxLength only bounds the input.
 */
export const clientIdSchema = Type.String({
  minLength: 1,
  maxLength: 128,
  format: clientIdFormat,
  description:
    "1 to 128 bytes of UTF-8 in Unicode normalization form C; no '/', '+', '#', control or format characters (such as " +
    'U+202E or U+200B), invisible characters, whitespace other than a space, noncharacters or U+FFFD; must not start with ' +
    "'$'. The brokers apply the same rule at CONNECT (CONNACK 2).",
});

export const accountNameSchema = Type.String({
  pattern: '^[A-Za-z0-9_-]{1,64}$',
  description: 'Unique account name, used as a topic level: $EDC/{name}/{clientId}/...',
});

export const versionSchema = Type.Integer({
  minimum: 0,
  description: 'The version read before the change (optimistic locking); a mismatch is 409 VERSION_CONFLICT.',
});

export const pageQueryProperties = {
  offset: withDefault(Type.Integer({ minimum: 0, maximum: 1_000_000_000, description: 'Items to skip.' }), 0),
  limit: withDefault(Type.Integer({ minimum: 1, maximum: 1000, description: 'Items per page (at most 1000).' }), 50),
};

/** `{ items, total, offset, limit }` around an item schema. */
export function pageSchema<T extends TSchema>(itemSchema: T, description: string) {
  return Type.Object(
    {
      items: Type.Array(itemSchema),
      total: Type.Integer({ minimum: 0 }),
      offset: Type.Integer({ minimum: 0 }),
      limit: Type.Integer({ minimum: 1 }),
    },
    { description, additionalProperties: false },
  );
}

export const fieldErrorSchema = Type.Object(
  {
    path: Type.String({ description: "Where: 'body/...', 'query/...', 'path/...' or 'header/...'." }),
    message: Type.String(),
  },
  { additionalProperties: false },
);

/** RFC 9457 problem details, extended with the catalogue code. */
export const problemSchema = Type.Object(
  {
    type: Type.String({ format: 'uri', description: 'https://provisio.dev/errors/{code}' }),
    title: Type.String({ description: 'The catalogue message of the code.' }),
    status: Type.Integer({ minimum: 400, maximum: 599 }),
    detail: Type.Optional(Type.String()),
    code: StringEnum(errorCodes),
    instance: Type.Optional(Type.String({ description: 'Path of the request.' })),
    errors: Type.Optional(Type.Array(fieldErrorSchema)),
  },
  { description: 'RFC 9457 problem details (application/problem+json).' },
);
