import { fleetUpdateNotices, type FleetUpdateSender } from '../cluster/fleet-update-notice.ts';
import type { DeviceFilter, ProvisionStore } from '../store/types.ts';

/** listDevices answers at most this many per page. */
const pageSize = 1000;

type OnlineFilter = Omit<DeviceFilter, 'accountId' | 'online' | 'offset' | 'limit'>;

/** The clientIds the store records as online in the account (narrowed by `filter`), every page of them. */
export async function onlineClientIds(store: Pick<ProvisionStore, 'listDevices'>, accountId: string, filter: OnlineFilter): Promise<string[]> {
  const clientIds: string[] = [];
  for (let offset = 0; ; offset += pageSize) {
    const page = await store.listDevices({ ...filter, accountId, online: true, offset, limit: pageSize });
    clientIds.push(...page.items.map((device) => device.clientId));
    if (page.items.length < pageSize) return clientIds;
  }
}

/**
 * After a change that online devices must catch up with at once rather than at their next birth
 * (issue 15: a category's configuration or bundles, a configuration edited, an update job), the
 * clientIds the store records as online in the account (narrowed by `filter`) go to the broker
 * side in notices of at most fleetUpdateNoticeMaxClientIds. The broker side works out per device
 * whether anything is to be sent. A device that goes offline meanwhile is told in vain and catches
 * up at its next birth; one that comes online meanwhile is brought up to date by that birth.
 * Answers how many devices were told.
 */
export async function tellOnlineDevices(
  store: ProvisionStore,
  fleetUpdates: FleetUpdateSender,
  accountId: string,
  filter: OnlineFilter,
  cause: string,
): Promise<number> {
  const clientIds = await onlineClientIds(store, accountId, filter);
  if (clientIds.length === 0) return 0;
  const account = await store.getAccount(accountId);
  if (!account) return 0;
  for (const notice of fleetUpdateNotices({ accountId: account.id, accountName: account.name, cause }, clientIds)) {
    await fleetUpdates.tellToUpdate(notice);
  }
  return clientIds.length;
}
