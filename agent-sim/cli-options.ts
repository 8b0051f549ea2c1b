/** agent-sim's command line: its options, and the two ways it refuses to start (cli.ts's exit codes 2 and 3). */
import { parseArgs } from 'node:util';
import type { AgentSettings } from './settings.ts';

/** A bad command line or setting: exit code 2. */
export class UsageError extends Error {}

/** Something to read or write before any device runs failed: exit code 3. */
export class CannotStartError extends Error {}

/** The operation, its failure a reason not to start. */
export async function toStart<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    throw new CannotStartError((error as Error).message, { cause: error });
  }
}

/** agent-sim's options (--help lists them), for node:util parseArgs. */
export const options = {
  'state-dir': { type: 'string' },
  'state-root': { type: 'string' },
  credentials: { type: 'string' },
  count: { type: 'string' },
  concurrency: { type: 'string', default: '50' },
  'root-ca': { type: 'string' },
  'broker-url': { type: 'string' },
  'account-name': { type: 'string' },
  'client-id': { type: 'string' },
  username: { type: 'string' },
  password: { type: 'string' },
  'activation-key': { type: 'string' },
  mac: { type: 'string' },
  serial: { type: 'string' },
  timeout: { type: 'string' },
  'retry-interval': { type: 'string' },
  'retry-max-attempts': { type: 'string' },
  'no-ca-authentication': { type: 'boolean', default: false },
  'no-csr': { type: 'boolean', default: false },
  'factory-reset': { type: 'boolean', default: false },
  'stay-online': { type: 'string' },
  renewals: { type: 'string' },
  'renewal-jitter-max-seconds': { type: 'string' },
  'fail-jobs': { type: 'boolean', default: false },
  'refuse-configurations': { type: 'boolean', default: false },
  'factory-cert': { type: 'string' },
  'factory-key': { type: 'string' },
  'factory-credentials-dir': { type: 'string' },
  code: { type: 'string' },
  'codes-file': { type: 'string' },
  'discovery-url': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

/** The options as parsed. */
export type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>['values'];

/** A whole-number option, at least `min` (-1 too for --retry-max-attempts: forever); undefined when not given. */
export function integer(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) throw new UsageError(`--${name} takes a whole number, not ${value}`);
  const parsed = Number(value);
  if (parsed < min && !(name === 'retry-max-attempts' && parsed === -1)) throw new UsageError(`--${name} must be at least ${min}, not ${value}`);
  return parsed;
}

const minimum = { timeout: 1, 'retry-interval': 0, 'retry-max-attempts': 1 } as const;

/** The agent settings the command line gives (ESF names, settings.ts). */
export function settingOverrides(values: Values): Partial<AgentSettings> {
  const overrides: Record<string, unknown> = {};
  for (const key of ['broker-url', 'account-name', 'client-id', 'username', 'password', 'activation-key', 'discovery-url'] as const) {
    if (values[key] !== undefined) overrides[key] = values[key];
  }
  for (const key of ['timeout', 'retry-interval', 'retry-max-attempts'] as const) {
    const parsed = integer(values[key], key, minimum[key]);
    if (parsed !== undefined) overrides[key] = parsed;
  }
  if (values['no-ca-authentication']) overrides['ca-authentication'] = false;
  if (values['no-csr']) overrides['use-csr'] = false;
  return overrides as Partial<AgentSettings>;
}
