import { readFileSync } from 'node:fs';
import type { Static } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { PlatformError } from '../errors/platform-error.ts';
import { configFileEnvName, configSchema, envNameOf, type ConfigKey, type PlatformConfig } from './schema.ts';

export type { PlatformConfig } from './schema.ts';

type Environment = Readonly<Record<string, string | undefined>>;

const ajv = new Ajv({ useDefaults: true, coerceTypes: false, allErrors: true, strict: true });
const validateConfig = ajv.compile<Static<typeof configSchema>>(configSchema);

const configKeys = Object.keys(configSchema.properties) as ConfigKey[];

function parseEnvValue(key: ConfigKey, raw: string): unknown {
  const property = configSchema.properties[key];
  switch (property.type) {
    case 'integer':
      // Number('') is 0 and Number('1e3') is 1000; only plain decimal integers are accepted.
      return /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
    case 'number':
      // A plain decimal (0.67, 1, .5); no exponents, hex or empty strings.
      return /^-?(\d+\.?\d*|\.\d+)$/.test(raw.trim()) ? Number(raw.trim()) : raw;
    case 'boolean':
      if (/^(true|1|yes|on)$/i.test(raw.trim())) return true;
      if (/^(false|0|no|off)$/i.test(raw.trim())) return false;
      return raw;
    case 'array':
      return raw
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0);
    default:
      return raw;
  }
}

function describeAccepted(key: ConfigKey): string {
  const property = configSchema.properties[key] as Record<string, unknown>;
  if (Array.isArray(property['enum'])) return `one of ${(property['enum'] as string[]).join(', ')}`;
  switch (property['type']) {
    case 'integer':
    case 'number': {
      const min = property['minimum'];
      const max = property['maximum'];
      const kind = property['type'] === 'integer' ? 'an integer' : 'a number';
      return `${kind}${min !== undefined ? ` >= ${String(min)}` : ''}${max !== undefined ? ` and <= ${String(max)}` : ''}`;
    }
    case 'boolean':
      return 'true or false';
    case 'array':
      // The items' title says what each one is (host:port pairs); host names otherwise.
      return `a comma-separated list of ${(property['items'] as { title?: string } | undefined)?.title ?? 'host names'}`;
    default: {
      const parts = ['a string'];
      if (property['minLength'] !== undefined) parts.push(`of at least ${String(property['minLength'])} characters`);
      if (property['pattern'] !== undefined) parts.push(`matching ${String(property['pattern'])}`);
      return parts.join(' ');
    }
  }
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new PlatformError('CONFIG_INVALID', {
      detail: `${configFileEnvName}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    });
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch {
    throw new PlatformError('CONFIG_INVALID', {
      detail: `${configFileEnvName}: ${path} must hold a JSON object with the settings' camelCase names`,
    });
  }
}

/**
 * Reads the configuration once: defaults from the schema, then the optional JSON config file
 * (PROVISIO_CONFIG_FILE), then PROVISIO_* variables. Validated and frozen; an invalid value
 * throws CONFIG_INVALID naming the variable and what it accepts. Nothing else reads the environment.
 */
export function loadConfig(env: Environment = process.env, overrides: Partial<PlatformConfig> = {}): PlatformConfig {
  const candidate: Record<string, unknown> = {};
  const source = new Map<string, string>();
  const configFile = env[configFileEnvName];
  if (configFile) {
    for (const [key, value] of Object.entries(readConfigFile(configFile))) {
      candidate[key] = value;
      source.set(key, `${key} in ${configFile}`);
    }
  }
  for (const key of configKeys) {
    const raw = env[envNameOf(key)];
    if (raw === undefined || raw === '') continue;
    candidate[key] = parseEnvValue(key, raw);
    source.set(key, envNameOf(key));
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    candidate[key] = value;
    source.set(key, `${key} (override)`);
  }

  if (!validateConfig(candidate)) {
    const problems = (validateConfig.errors ?? []).map((error) => {
      if (error.keyword === 'additionalProperties') {
        const extra = String((error.params as { additionalProperty?: string }).additionalProperty);
        return `${source.get(extra) ?? extra}: unknown setting`;
      }
      const key = error.instancePath.split('/')[1] as ConfigKey | undefined;
      if (!key || !(key in configSchema.properties)) return error.message ?? 'invalid';
      return `${source.get(key) ?? envNameOf(key)}: invalid value, expected ${describeAccepted(key)}`;
    });
    throw new PlatformError('CONFIG_INVALID', { detail: [...new Set(problems)].join('; ') });
  }
  const caFiles = [candidate['caRootCertFile'], candidate['caIssuingCertFile'], candidate['caIssuingKeyFile']];
  const given = caFiles.filter((value) => value !== undefined).length;
  if (given !== 0 && given !== 3) {
    throw new PlatformError('CONFIG_INVALID', {
      detail: `${envNameOf('caRootCertFile')}, ${envNameOf('caIssuingCertFile')} and ${envNameOf('caIssuingKeyFile')} go together: set all three or none`,
    });
  }
  const config: PlatformConfig = candidate;
  Object.freeze(config.publicHostnames);
  return Object.freeze(config);
}
