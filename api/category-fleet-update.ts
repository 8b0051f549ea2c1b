import { fleetUpdateNotices, type FleetUpdateSender } from '../cluster/fleet-update-notice.ts';
import type { Category, ProvisionStore } from '../store/types.ts';

/** listDevices answers at most this many per page. */
const pageSize = 1000;

/**
 * After a category's configuration or bundles changed, its online devices must catch up at once
 * rather than at their next birth (issue 15 §2, §3): the clientIds the store records as online
 * in the category go to the broker side in notices of at most fleetUpdateNoticeMaxClientIds.
 * A device that goes offline meanwhile is told in vain and catches up at its next birth; one that
 * comes online meanwhile is brought up to date by that birth. Answers how many devices were told.
 */
export async function tellCategoryDevicesToUpdate(store: ProvisionStore, fleetUpdates: FleetUpdateSender, category: Category): Promise<number> {
  const clientIds: string[] = [];
  for (let offset = 0; ; offset += pageSize) {
    const page = await store.listDevices({ accountId: category.accountId, category: category.name, online: true, offset, limit: pageSize });
    clientIds.push(...page.items.map((device) => device.clientId));
    if (page.items.length < pageSize) break;
  }
  if (clientIds.length === 0) return 0;
  const account = await store.getAccount(category.accountId);
  if (!account) return 0;
  for (const notice of fleetUpdateNotices({ accountId: account.id, accountName: account.name, cause: 'category' }, clientIds)) {
    await fleetUpdates.tellToUpdate(notice);
  }
  return clientIds.length;
}
