import { emptyDevice, givenDevicePatch, pageWindow } from '../records.ts';
import type { DeviceFilter, DevicePatch, DeviceRecord, Page } from '../types.ts';
import { deleteDeviceScript, upsertDeviceScript } from './device-scripts.ts';
import { loadStrings, pageFromIndex } from './index-paging.ts';
import { parseRecord, type RedisContext } from './redis-context.ts';

/** Member of the devices index (see RedisKeys.devices): accountId, NUL, clientId. */
function devicesMember(accountId: string, clientId: string): string {
  return `${accountId}\u0000${clientId}`;
}

function splitDevicesMember(member: string): [accountId: string, clientId: string] {
  const separator = member.indexOf('\u0000');
  return [member.slice(0, separator), member.slice(separator + 1)];
}

/** Device records, indexed over all accounts and per account, both in (accountId, clientId) order. */
export class RedisDevices {
  constructor(private readonly context: RedisContext) {}

  async upsert(accountId: string, clientId: string, patch: DevicePatch): Promise<DeviceRecord> {
    const { keys, scripts } = this.context;
    const now = Date.now();
    const { values } = await scripts.run(
      upsertDeviceScript,
      [keys.device(accountId, clientId), keys.devices(), keys.accountDevices(accountId)],
      [devicesMember(accountId, clientId), clientId, JSON.stringify(emptyDevice(accountId, clientId, now)), JSON.stringify(givenDevicePatch(patch)), now],
    );
    return parseRecord<DeviceRecord>(String(values[0]));
  }

  async get(accountId: string, clientId: string): Promise<DeviceRecord | null> {
    const json = await this.context.redis.get(this.context.keys.device(accountId, clientId));
    return json ? parseRecord<DeviceRecord>(json) : null;
  }

  list(filter: DeviceFilter = {}): Promise<Page<DeviceRecord>> {
    const { redis, keys } = this.context;
    const { accountId, clientId, online } = filter;
    return pageFromIndex(
      redis,
      {
        index: accountId === undefined ? keys.devices() : keys.accountDevices(accountId),
        load: (members) =>
          loadStrings(
            redis,
            members.map((member) => (accountId === undefined ? keys.device(...splitDevicesMember(member)) : keys.device(accountId, member))),
          ),
        parse: (json) => parseRecord<DeviceRecord>(json),
        matches:
          clientId === undefined && online === undefined
            ? undefined
            : (device) => (clientId === undefined || device.clientId === clientId) && (online === undefined || device.online === online),
      },
      pageWindow(filter),
    );
  }

  async delete(accountId: string, clientId: string): Promise<void> {
    const { keys, scripts } = this.context;
    await scripts.run(
      deleteDeviceScript,
      [keys.device(accountId, clientId), keys.devices(), keys.accountDevices(accountId)],
      [devicesMember(accountId, clientId), clientId],
    );
  }
}
