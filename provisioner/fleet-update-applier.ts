import type { FleetUpdateSender } from '../cluster/fleet-update-notice.ts';
import type { Logger } from '../log/logger.ts';
import type { ProvisionStore } from '../store/types.ts';
import type { DeviceReconciler } from './device-reconciler.ts';

export interface FleetUpdateApplierDeps {
  readonly store: Pick<ProvisionStore, 'getAccount' | 'getDevice'>;
  readonly reconciler: DeviceReconciler;
  /** Whether the device's account-broker connection is held by this process (only that process updates it). */
  readonly isConnectedHere: (clientId: string) => boolean;
  readonly log: Logger;
}

/**
 * The broker side of a fleet-update notice: each named device whose connection this process
 * holds is brought up to date as after its birth (its configuration, the latest matching update
 * job). A device connected to another broker process of a cluster is updated by that process.
 */
export function fleetUpdateApplier(deps: FleetUpdateApplierDeps): FleetUpdateSender {
  const log = deps.log.child({ component: 'fleet-update' });
  return {
    async tellToUpdate(notice) {
      const account = await deps.store.getAccount(notice.accountId);
      if (!account) return;
      let updated = 0;
      for (const clientId of notice.clientIds) {
        if (!deps.isConnectedHere(clientId)) continue;
        try {
          const device = await deps.store.getDevice(account.id, clientId);
          if (!device) continue;
          await deps.reconciler.reconcile(account, device, 'notice');
          updated += 1;
        } catch (error) {
          log.warn({ err: error, clientId, cause: notice.cause }, 'device not brought up to date');
        }
      }
      if (updated > 0) log.info({ account: account.name, cause: notice.cause, updated }, 'devices brought up to date');
    },
  };
}
