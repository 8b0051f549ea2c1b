import type { Redis } from 'ioredis';
import { PlatformError } from '../../errors/platform-error.ts';
import { refusal } from '../records.ts';

/**
 * Lua scripts run atomically inside Redis: every check-then-write that two workers could race
 * is one script. A script answers a table whose first element is an outcome:
 *   {'OK', ...values} | {'NOT_FOUND'|'DUPLICATE'|'VERSION_CONFLICT', refusalName} | {'RETRY'} | {'CHANGED', current}
 * RETRY and CHANGED mean "what you read has changed since": the caller reads again and retries.
 * Scripts receive every key they touch in KEYS (the caller computes them from what it read and
 * the script verifies that read is still current), as Redis asks of scripts.
 */
export interface ScriptDefinition {
  readonly name: string;
  /** How many keys it takes; 'variable' for a script over a batch of records (the caller passes them all). */
  readonly keys: number | 'variable';
  readonly lua: string;
}

/** Helpers prepended to every script. */
const prelude = `
local function version_of(json) return cjson.decode(json).version end
local function delete_if_points_to(key, id)
  if redis.call('GET', key) == id then redis.call('DEL', key) end
end
`;

export function defineScript(name: string, keys: number | 'variable', lua: string): ScriptDefinition {
  return { name: `provisio_${name}`, keys, lua: prelude + lua };
}

export type ScriptOutcome = { readonly outcome: 'OK' | 'RETRY' | 'CHANGED'; readonly values: readonly unknown[] };

const refusalCodes = new Set(['NOT_FOUND', 'DUPLICATE', 'VERSION_CONFLICT']);

export class ScriptRunner {
  constructor(
    private readonly redis: Redis,
    scripts: readonly ScriptDefinition[],
  ) {
    // defineCommand sends EVALSHA and falls back to EVAL when Redis lost its script cache (restart).
    // A variable number of keys is given as the first argument instead (no numberOfKeys).
    for (const script of scripts) {
      redis.defineCommand(script.name, script.keys === 'variable' ? { lua: script.lua } : { numberOfKeys: script.keys, lua: script.lua });
    }
  }

  /** Runs a script; a refusal outcome becomes the matching PlatformError. */
  async run(script: ScriptDefinition, keys: readonly string[], args: readonly (string | number)[]): Promise<ScriptOutcome> {
    if (script.keys !== 'variable' && keys.length !== script.keys) throw new Error(`${script.name} takes ${script.keys} keys, got ${keys.length}`);
    const command = (this.redis as unknown as Record<string, (...values: (string | number)[]) => Promise<unknown>>)[script.name];
    if (!command) throw new Error(`script ${script.name} is not defined on this connection`);
    const reply = await (script.keys === 'variable' ? command.call(this.redis, keys.length, ...keys, ...args) : command.call(this.redis, ...keys, ...args));
    if (!Array.isArray(reply) || typeof reply[0] !== 'string') throw new Error(`${script.name} answered ${String(reply)}`);
    const [outcome, ...values] = reply as [string, ...unknown[]];
    if (refusalCodes.has(outcome)) {
      const refusalName = String(values[0] ?? '');
      const detail = refusalName in refusal ? refusal[refusalName as keyof typeof refusal] : refusalName;
      throw new PlatformError(outcome as 'NOT_FOUND' | 'DUPLICATE' | 'VERSION_CONFLICT', { detail });
    }
    if (outcome !== 'OK' && outcome !== 'RETRY' && outcome !== 'CHANGED') throw new Error(`${script.name} answered ${outcome}`);
    return { outcome, values };
  }
}

/** Returned by a step of retryWhileChanged to ask for another round. */
export const retry: unique symbol = Symbol('retry');

/**
 * Repeats an optimistic read-then-script step while the script answers RETRY (the record changed
 * between the read and the script). Each retry means another writer made progress.
 */
export async function retryWhileChanged<T>(attempt: () => Promise<T | typeof retry>): Promise<T> {
  for (let round = 0; round < 100; round += 1) {
    const result = await attempt();
    if (result !== retry) return result;
  }
  throw new PlatformError('VERSION_CONFLICT', { detail: refusal.staleVersion });
}
