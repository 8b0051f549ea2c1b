import { loadStrings } from './index-paging.ts';
import { parseRecord, type RedisContext } from './redis-context.ts';

/** Settings field set once the clientId indexes hold every request and certificate of the store. */
const indexBuiltSetting = 'store:client-id-index';
const scanChunk = 1000;

interface ClientRecord {
  readonly clientId: string;
  readonly accountId: string;
  readonly serial?: string;
}

/** One build per store (context), shared by every part that reads the indexes; forgotten when it fails, so the next read tries again. */
const builds = new WeakMap<RedisContext, Promise<void>>();

/**
 * Resolves once the two indexes by clientId that only grow hold every record of the store:
 * client-accounts:{clientId} (accounts that ever had a request for it) and
 * client-certificates:{clientId} (its serials), written by the request and certificate scripts.
 * A store written before they existed gets them built from its records on first use (a whole
 * scan, once per store, marked in the settings); afterwards this costs nothing. Readers by
 * clientId (findClientIdHolders, the clientId-filtered listings) wait for it, so they never
 * answer from an index that misses older records.
 */
export function clientIdIndexesReady(context: RedisContext): Promise<void> {
  let build = builds.get(context);
  if (!build) {
    build = buildIfAbsent(context);
    builds.set(context, build);
    build.catch(() => builds.delete(context));
  }
  return build;
}

async function buildIfAbsent(context: RedisContext): Promise<void> {
  const { redis, keys } = context;
  if ((await redis.hget(keys.settings(), indexBuiltSetting)) !== null) return;
  // Writers running meanwhile add to the indexes themselves; adding twice changes nothing.
  await addAll(
    context,
    keys.requests(),
    (id) => keys.request(id),
    (record) => [keys.clientAccounts(record.clientId), record.accountId],
  );
  await addAll(
    context,
    keys.certificates(),
    (serial) => keys.certificate(serial),
    (record) => [keys.clientCertificates(record.clientId), record.serial ?? ''],
  );
  await redis.hset(keys.settings(), indexBuiltSetting, '1');
}

/** Adds every record of a listing index to its clientId's set: entry names the set and the member. */
async function addAll(
  context: RedisContext,
  index: string,
  recordKey: (member: string) => string,
  entry: (record: ClientRecord) => [set: string, member: string],
): Promise<void> {
  const { redis } = context;
  for (let start = 0; ; start += scanChunk) {
    const members = await redis.zrange(index, start, start + scanChunk - 1);
    const writes = redis.pipeline();
    for (const json of await loadStrings(redis, members.map(recordKey))) {
      if (!json) continue;
      writes.sadd(...entry(parseRecord<ClientRecord>(json)));
    }
    if (writes.length > 0) await writes.exec();
    if (members.length < scanChunk) return;
  }
}
