import type { OptionSpec } from './command.ts';
import { UsageError } from './exit-codes.ts';

/** Options of the commands that list a page. */
export const pageOptions = {
  limit: { type: 'string', value: 'N', help: 'Items to show (1-1000, default 50).' },
  offset: { type: 'string', value: 'N', help: 'Items to skip (default 0).' },
} as const satisfies Record<string, OptionSpec>;

/** An integer option, checked here so a typo is a usage error (exit 2) rather than a request the API refuses. */
export function integerOption(name: string, value: string | undefined, range: { min: number; max: number }): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number, not '${value}'`);
  const number = Number(value);
  if (number < range.min || number > range.max) throw new UsageError(`--${name} must be between ${range.min} and ${range.max}`);
  return number;
}

/** `--limit` and `--offset` as the API's page query. */
export function pageQuery(values: { readonly limit?: string | undefined; readonly offset?: string | undefined }): { limit?: number; offset?: number } {
  const limit = integerOption('limit', values.limit, { min: 1, max: 1000 });
  const offset = integerOption('offset', values.offset, { min: 0, max: 1_000_000_000 });
  return { ...(limit !== undefined ? { limit } : {}), ...(offset !== undefined ? { offset } : {}) };
}

/** A repeatable option whose values may also be comma-separated: `--status ENABLED,DISABLED`. */
export function listOption(values: readonly string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  const items = values
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter((value) => value.length > 0);
  return items.length > 0 ? items : undefined;
}

/** A choice among `allowed` (case-insensitive on input, as the API spells it on output). */
export function choiceOption<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  const match = allowed.find((candidate) => candidate.toLowerCase() === value.toLowerCase());
  if (!match) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, not '${value}'`);
  return match;
}

/** `true`/`false` (also yes/no, 1/0) for options such as --online. */
export function booleanWord(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const word = value.toLowerCase();
  if (['true', 'yes', '1'].includes(word)) return true;
  if (['false', 'no', '0'].includes(word)) return false;
  throw new UsageError(`--${name} must be true or false, not '${value}'`);
}

/** A date-time option: an RFC 3339 date-time, or a date (midnight UTC). */
export function dateTimeOption(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(time)) {
    throw new UsageError(`--${name} must be a date-time (2030-01-31T12:00:00Z) or a date (2030-01-31), not '${value}'`);
  }
  return new Date(time).toISOString();
}

/** A moment in the past: what dateTimeOption takes, or a time ago (30s, 15m, 2h, 7d). */
export function timeOption(name: string, value: string | undefined, now = Date.now()): string | undefined {
  const ago = value === undefined ? null : /^(\d+)([smhd])$/.exec(value);
  if (!ago) return dateTimeOption(name, value);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[ago[2] as 's' | 'm' | 'h' | 'd'];
  return new Date(now - Number(ago[1]) * unit).toISOString();
}
