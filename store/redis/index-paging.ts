import type { Redis } from 'ioredis';
import type { PageWindow } from '../records.ts';
import type { Page } from '../types.ts';

/** A listing read from a sorted-set index: which range, how to load and parse, what to keep. */
export interface IndexQuery<T> {
  readonly index: string;
  /** Score range, inclusive (scores are createdOn, or the id for the audit log). */
  readonly minScore?: number | undefined;
  readonly maxScore?: number | undefined;
  /** Highest score first (then member, descending). */
  readonly newestFirst?: boolean;
  /** Loads the records of index members, null where one has gone meanwhile. */
  readonly load: (members: readonly string[]) => Promise<readonly (string | null)[]>;
  readonly parse: (json: string, member: string) => T;
  /** Filters applied in Node; absent = every record in the score range matches. */
  readonly matches?: ((item: T) => boolean) | undefined;
}

const scanChunk = 1000;

/**
 * One page in index order (score, then member; or both descending) with the total of matching records.
 * Without a filter Redis counts and slices; with one, the range is scanned in chunks and
 * filtered here, so the total counts exactly the matching records.
 */
export async function pageFromIndex<T>(redis: Redis, query: IndexQuery<T>, window: PageWindow): Promise<Page<T>> {
  const min = query.minScore ?? '-inf';
  const max = query.maxScore ?? '+inf';
  const range = (offset: number, count: number) =>
    query.newestFirst
      ? redis.zrevrangebyscore(query.index, max, min, 'LIMIT', offset, count)
      : redis.zrangebyscore(query.index, min, max, 'LIMIT', offset, count);
  if (!query.matches) {
    const [total, members] = await Promise.all([redis.zcount(query.index, min, max), window.limit === 0 ? [] : range(window.offset, window.limit)]);
    const items = await loadParsed(query, members);
    return { items, total, offset: window.offset, limit: window.limit };
  }
  const items: T[] = [];
  let total = 0;
  for (let start = 0; ; start += scanChunk) {
    const members = await range(start, scanChunk);
    for (const item of await loadParsed(query, members)) {
      if (!query.matches(item)) continue;
      if (total >= window.offset && items.length < window.limit) items.push(item);
      total += 1;
    }
    if (members.length < scanChunk) break;
  }
  return { items, total, offset: window.offset, limit: window.limit };
}

async function loadParsed<T>(query: IndexQuery<T>, members: readonly string[]): Promise<T[]> {
  if (members.length === 0) return [];
  const records = await query.load(members);
  const items: T[] = [];
  members.forEach((member, index) => {
    const json = records[index];
    if (json) items.push(query.parse(json, member));
  });
  return items;
}

/** MGET of the keys of `members`; MGET refuses an empty key list, so that case is answered here. */
export async function loadStrings(redis: Redis, keys: readonly string[]): Promise<(string | null)[]> {
  return keys.length === 0 ? [] : redis.mget(...keys);
}

/**
 * A page of records already read whole through a small index of their own (one client's
 * certificates or requests: a handful, whatever the fleet), filtered, in the order a listing
 * index gives them (score, here createdOn, then member bytewise; the members are ASCII), with
 * the total of matching records: what pageFromIndex would answer for the same filter.
 */
export function pageOfRecords<T>(
  records: readonly T[],
  matches: (item: T) => boolean,
  orderOf: (item: T) => { readonly score: number; readonly member: string },
  window: PageWindow,
): Page<T> {
  const matching = records
    .filter(matches)
    .map((item) => ({ item, ...orderOf(item) }))
    .sort((a, b) => a.score - b.score || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0))
    .map(({ item }) => item);
  return { items: matching.slice(window.offset, window.offset + window.limit), total: matching.length, offset: window.offset, limit: window.limit };
}
