import type { Redis } from 'ioredis';
import type { RedisKeys } from './redis-keys.ts';
import type { ScriptRunner } from './script-runner.ts';

/** What every part of the Redis store works with. */
export interface RedisContext {
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly scripts: ScriptRunner;
}

/** Records are stored as the domain object's JSON; the store alone writes them. */
export function parseRecord<T>(json: string): T {
  return JSON.parse(json) as T;
}

export function flag(value: boolean): '1' | '0' {
  return value ? '1' : '0';
}
