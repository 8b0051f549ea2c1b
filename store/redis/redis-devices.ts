import { PlatformError } from '../../errors/platform-error.ts';
import { pageWindow, refusal } from '../records.ts';
import { emptyDevice, givenDevicePatch, withRegistryFields } from '../registry-records.ts';
import type { DeviceFilter, DevicePatch, DeviceRecord, Page } from '../types.ts';
import { deviceMatcher } from './device-filter.ts';
import { deleteDeviceScript, markBrokerDevicesOfflineScript, markDeviceOfflineScript, upsertDeviceScript } from './device-scripts.ts';
import { loadStrings, pageFromIndex } from './index-paging.ts';
import { flag, parseRecord, type RedisContext } from './redis-context.ts';
import { devicesMember, legacyDeviceId, RedisDeviceIds, splitDevicesMember } from './redis-device-ids.ts';
import { retry, retryWhileChanged } from './script-runner.ts';

/** Device records as stored: those written before the device registry lack its fields, the id among them. */
type StoredDevice = Partial<DeviceRecord> & Pick<DeviceRecord, 'accountId' | 'clientId' | 'modifiedOn'>;

/** The indexed fields of a stored record, as the scripts compare them: null when absent. */
interface IndexedFields {
  readonly brokerId: string | null;
  readonly category: string | null;
}

function deviceFromJson(json: string): DeviceRecord {
  const stored = parseRecord<StoredDevice>(json);
  return withRegistryFields({ ...stored, id: stored.id ?? legacyDeviceId(stored.accountId, stored.clientId) });
}

function indexedFieldsOf(stored: StoredDevice | null): IndexedFields {
  return { brokerId: stored?.brokerId ?? null, category: stored?.category ?? null };
}

/** Devices met by one SSCAN step of a broker's index, and so handled by one script call. */
const brokerScanCount = 500;

/**
 * Device records, indexed over all accounts and per account, both in (accountId, clientId) order;
 * by id, by broker and by category of an account as the scripts keep them.
 */
export class RedisDevices {
  private readonly ids: RedisDeviceIds;

  constructor(private readonly context: RedisContext) {
    this.ids = new RedisDeviceIds(context);
  }

  /**
   * A patch that moves the device to another broker or category reads the record first, for the
   * index keys to move it from (the script answers RETRY if they changed meanwhile); any other
   * patch is one script call.
   */
  async upsert(accountId: string, clientId: string, patch: DevicePatch): Promise<DeviceRecord> {
    const stored = await this.write(accountId, clientId, patch, null);
    if (!stored) throw new Error('the device upsert was refused as stale without a condition');
    return stored;
  }

  upsertUnlessOfflineSince(accountId: string, clientId: string, patch: DevicePatch, eventOn: number): Promise<DeviceRecord | null> {
    return this.write(accountId, clientId, patch, eventOn);
  }

  private async write(accountId: string, clientId: string, patch: DevicePatch, eventOn: number | null): Promise<DeviceRecord | null> {
    const { keys, scripts } = this.context;
    const given = givenDevicePatch(patch);
    const indexed = given.brokerId !== undefined || given.category !== undefined;
    return retryWhileChanged(async () => {
      const read = indexed ? indexedFieldsOf(await this.stored(accountId, clientId)) : indexedFieldsOf(null);
      const next: IndexedFields = {
        brokerId: given.brokerId === undefined ? read.brokerId : given.brokerId,
        category: given.category === undefined ? read.category : given.category,
      };
      const now = Date.now();
      const empty = emptyDevice(accountId, clientId, now);
      const legacyId = legacyDeviceId(accountId, clientId);
      const { outcome, values } = await scripts.run(
        upsertDeviceScript,
        [
          keys.device(accountId, clientId),
          keys.devices(),
          keys.accountDevices(accountId),
          keys.deviceId(empty.id),
          keys.deviceId(legacyId),
          keys.brokerDevices(read.brokerId ?? ''),
          keys.brokerDevices(next.brokerId ?? ''),
          keys.categoryDevices(accountId, read.category ?? ''),
          keys.categoryDevices(accountId, next.category ?? ''),
        ],
        [
          devicesMember(accountId, clientId),
          clientId,
          JSON.stringify(empty),
          JSON.stringify(given),
          now,
          legacyId,
          flag(indexed),
          JSON.stringify(read),
          eventOn === null ? '' : eventOn,
        ],
      );
      if (outcome === 'RETRY') return retry;
      // An empty answer: the event is stale (an offline record seen after it), nothing written.
      return values[0] === '' ? null : deviceFromJson(String(values[0]));
    });
  }

  async get(accountId: string, clientId: string): Promise<DeviceRecord | null> {
    const json = await this.context.redis.get(this.context.keys.device(accountId, clientId));
    return json ? deviceFromJson(json) : null;
  }

  async getById(id: string): Promise<DeviceRecord | null> {
    const member = await this.ids.memberOf(id);
    const device = member === null ? null : await this.get(...splitDevicesMember(member));
    // Deleted and made again meanwhile: the record has another id.
    return device?.id === id ? device : null;
  }

  /** From the narrowest index the filter allows: the account's category, the account, or every device. */
  list(filter: DeviceFilter = {}): Promise<Page<DeviceRecord>> {
    const { redis, keys } = this.context;
    const { accountId, category } = filter;
    const index =
      accountId === undefined ? keys.devices() : category === undefined ? keys.accountDevices(accountId) : keys.categoryDevices(accountId, category);
    return pageFromIndex(
      redis,
      {
        index,
        load: (members) =>
          loadStrings(
            redis,
            members.map((member) => (accountId === undefined ? keys.device(...splitDevicesMember(member)) : keys.device(accountId, member))),
          ),
        parse: deviceFromJson,
        matches: deviceMatcher(filter),
      },
      pageWindow(filter),
    );
  }

  async delete(accountId: string, clientId: string): Promise<void> {
    const { keys, scripts } = this.context;
    await retryWhileChanged(async () => {
      const stored = await this.stored(accountId, clientId);
      if (!stored) throw new PlatformError('NOT_FOUND', { detail: refusal.deviceNotFound });
      const read = { id: stored.id ?? null, ...indexedFieldsOf(stored) };
      const { outcome } = await scripts.run(
        deleteDeviceScript,
        [
          keys.device(accountId, clientId),
          keys.devices(),
          keys.accountDevices(accountId),
          keys.deviceId(stored.id ?? legacyDeviceId(accountId, clientId)),
          keys.brokerDevices(read.brokerId ?? ''),
          keys.categoryDevices(accountId, read.category ?? ''),
        ],
        [devicesMember(accountId, clientId), clientId, JSON.stringify(read)],
      );
      return outcome === 'RETRY' ? retry : undefined;
    });
  }

  /** Walks the broker's index with SSCAN, one script per step; a device met twice is offline the second time and not counted again. */
  async markOffline(accountId: string, clientId: string, brokerId: string, now: number): Promise<boolean> {
    const { values } = await this.context.scripts.run(markDeviceOfflineScript, [this.context.keys.device(accountId, clientId)], [brokerId, now]);
    return Number(values[0]) === 1;
  }

  async markBrokerOffline(brokerId: string, now: number): Promise<number> {
    const { redis, keys, scripts } = this.context;
    const index = keys.brokerDevices(brokerId);
    let changed = 0;
    let cursor = '0';
    do {
      const [next, members] = await redis.sscan(index, cursor, 'COUNT', brokerScanCount);
      cursor = next;
      if (members.length === 0) continue;
      const { values } = await scripts.run(
        markBrokerDevicesOfflineScript,
        [index, ...members.map((member) => keys.device(...splitDevicesMember(member)))],
        [brokerId, now, ...members],
      );
      changed += Number(values[0]);
    } while (cursor !== '0');
    return changed;
  }

  private async stored(accountId: string, clientId: string): Promise<StoredDevice | null> {
    const json = await this.context.redis.get(this.context.keys.device(accountId, clientId));
    return json ? parseRecord<StoredDevice>(json) : null;
  }
}
