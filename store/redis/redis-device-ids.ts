import { v5 as uuidV5 } from 'uuid';
import { loadStrings } from './index-paging.ts';
import { parseRecord, type RedisContext } from './redis-context.ts';
import { mapLegacyDeviceIdScript } from './device-scripts.ts';

/** Names the UUIDs of legacyDeviceId (a fixed, random namespace: RFC 9562 §5.5). */
const legacyDeviceIdNamespace = '5d1f7c3e-8a4b-4f0e-9c61-2b7a9e04d8f3';

/** Settings field set once every device record stored before device ids can be found by its id. */
const legacyIdsMappedSetting = 'store:device-id-index';
const scanChunk = 1000;

/** Member of the devices index (see RedisKeys.devices): accountId, NUL, clientId. */
export function devicesMember(accountId: string, clientId: string): string {
  return `${accountId}\u0000${clientId}`;
}

export function splitDevicesMember(member: string): [accountId: string, clientId: string] {
  const separator = member.indexOf('\u0000');
  return [member.slice(0, separator), member.slice(separator + 1)];
}

/**
 * The id of a device record stored before devices had ids: derived from its account and
 * clientId (a name-based UUID), so reading it answers the same id every time, and the first
 * upsert stores that id in the record (device-scripts.ts).
 */
export function legacyDeviceId(accountId: string, clientId: string): string {
  return uuidV5(devicesMember(accountId, clientId), legacyDeviceIdNamespace);
}

/**
 * Device id -> record, through the device-id:{id} keys the upsert script writes. A store
 * written before device ids has records without one and no keys for them: on the first id not
 * found, every such record gets its key (legacyDeviceId), once per store.
 */
export class RedisDeviceIds {
  private legacyMapped = false;

  constructor(private readonly context: RedisContext) {}

  /** The devices member of the record with this id, or null. */
  async memberOf(id: string): Promise<string | null> {
    const { redis, keys } = this.context;
    const member = await redis.get(keys.deviceId(id));
    if (member !== null || this.legacyMapped) return member;
    await this.mapLegacyIds();
    return redis.get(keys.deviceId(id));
  }

  private async mapLegacyIds(): Promise<void> {
    const { redis, keys, scripts } = this.context;
    if ((await redis.hget(keys.settings(), legacyIdsMappedSetting)) === null) {
      for (let start = 0; ; start += scanChunk) {
        const members = await redis.zrange(keys.devices(), start, start + scanChunk - 1);
        const records = await loadStrings(
          redis,
          members.map((member) => keys.device(...splitDevicesMember(member))),
        );
        const mappings = members.flatMap((member, index) => {
          const json = records[index];
          if (!json || parseRecord<{ id?: string }>(json).id !== undefined) return [];
          const [accountId, clientId] = splitDevicesMember(member);
          // The script maps it only if no upsert has given the record its id meanwhile.
          return [scripts.run(mapLegacyDeviceIdScript, [keys.device(accountId, clientId), keys.deviceId(legacyDeviceId(accountId, clientId))], [member])];
        });
        await Promise.all(mappings);
        if (members.length < scanChunk) break;
      }
      await redis.hset(keys.settings(), legacyIdsMappedSetting, '1');
    }
    this.legacyMapped = true;
  }
}
