import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import { isAcceptableClientId } from '../protocol/topics.ts';
import { ApiValidationError, type FieldError } from './problem.ts';
import { clientIdFormat, type JsonSchema } from './schemas/common.ts';
import { componentSchemas, type SchemaName, type Validated } from './schemas/index.ts';

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = (addFormatsPlugin as unknown as { default: typeof addFormatsPlugin }).default ?? addFormatsPlugin;

export type Location = 'body' | 'query' | 'path' | 'header';

/** The standard formats and ours; for any ajv that checks our schemas (the published ones too). */
export function addPlatformFormats(ajv: Ajv2020): void {
  (addFormats as unknown as (ajv: Ajv2020) => void)(ajv);
  ajv.addFormat(clientIdFormat, { type: 'string', validate: isAcceptableClientId });
}

function createAjv(coerceTypes: boolean): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, useDefaults: true, coerceTypes, verbose: true });
  addPlatformFormats(ajv);
  return ajv;
}

function toFieldError(error: ErrorObject, location: Location): FieldError {
  const path = `${location}${error.instancePath}`;
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'additionalProperties') {
    return { path: `${path}/${String(params['additionalProperty'])}`, message: 'is not a known field' };
  }
  if (error.keyword === 'required') {
    return { path: `${path}/${String(params['missingProperty'])}`, message: 'is required' };
  }
  // A pattern or a format of ours is unreadable in a message; the schema's description says it in words.
  const description = (error.parentSchema as JsonSchema | undefined)?.['description'];
  const ours = error.keyword === 'pattern' || (error.keyword === 'format' && params['format'] === clientIdFormat);
  if (ours && typeof description === 'string') {
    return { path, message: `is not valid: ${description}` };
  }
  return { path, message: error.message ?? 'is not valid' };
}

/**
 * Compiles each schema once per mode. Bodies are checked as they are (no coercion); query
 * strings, path parameters and headers arrive as text, so integers are coerced and list
 * parameters accept both `?a=1&a=2` and `?a=1,2`.
 */
export class SchemaValidator {
  private readonly strictAjv = createAjv(false);
  private readonly coercingAjv = createAjv(true);
  private readonly compiled = new WeakMap<JsonSchema, ValidateFunction>();
  private readonly compiledCoercing = new WeakMap<JsonSchema, ValidateFunction>();

  /** Validates (filling in defaults) and returns the value; throws ApiValidationError. */
  validate<T>(schema: JsonSchema, value: unknown, location: Location): T {
    const coercing = location !== 'body';
    const cache = coercing ? this.compiledCoercing : this.compiled;
    let validateFunction = cache.get(schema);
    if (!validateFunction) {
      validateFunction = (coercing ? this.coercingAjv : this.strictAjv).compile(schema);
      cache.set(schema, validateFunction);
    }
    const data = coercing ? normalizeTextParameters(schema, value) : value;
    if (!validateFunction(data)) {
      throw new ApiValidationError((validateFunction.errors ?? []).map((error) => toFieldError(error, location)));
    }
    return data as T;
  }

  /** A request part checked against the component schema it names, typed as that schema; none named: undefined. */
  validatePart<N extends SchemaName | undefined>(name: N, value: unknown, location: Location): Validated<N> {
    // The one place a request part gets its static type: Static<> of the schema ajv has just checked it against.
    return (name === undefined ? undefined : this.validate(componentSchemas[name], value, location)) as Validated<N>;
  }
}

/** Copies a parsed query string into a plain object, splitting list parameters on commas. */
function normalizeTextParameters(schema: JsonSchema, value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const properties = (schema['properties'] ?? {}) as Record<string, JsonSchema | undefined>;
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    if (properties[key]?.['type'] === 'array') {
      const values = (Array.isArray(raw) ? raw : [raw]).map(String);
      out[key] = values
        .flatMap((item) => item.split(','))
        .map((item) => item.trim())
        .filter((item) => item.length > 0);
    } else {
      out[key] = raw;
    }
  }
  return out;
}
