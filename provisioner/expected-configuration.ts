import type { Logger } from '../log/logger.ts';
import type { Account, DeviceFilter, DeviceRecord, ProvisionRequest, ProvisionStore } from '../store/types.ts';
import type { ProvisionerDependencies } from './dependencies.ts';
import { deviceSubject, heldConfiguration, type HeldConfiguration } from './held-configuration.ts';

type ExpectedConfigurationStore = Pick<
  ProvisionStore,
  'listProvisionRequests' | 'getConfiguration' | 'getConfigurationVersion' | 'getCategoryByName' | 'upsertDevice' | 'getAccount' | 'listDevices'
>;

/** The device's completed provision request, if it still exists: what its configuration falls back to. */
async function completedRequest(store: ExpectedConfigurationStore, accountId: string, clientId: string): Promise<ProvisionRequest | null> {
  const requests = await store.listProvisionRequests({ accountId, clientIds: [clientId], jobStatuses: ['COMPLETED'], limit: 1 });
  return requests.items[0] ?? null;
}

/** The configuration the platform holds for a device of the registry; null for one that never completed provisioning here. */
export async function heldConfigurationOfDevice(
  store: ExpectedConfigurationStore,
  account: Account,
  device: DeviceRecord,
  platformAccountBrokerUrl: string,
): Promise<HeldConfiguration | null> {
  const request = await completedRequest(store, account.id, device.clientId);
  if (!request && device.provisionedOn === null) return null;
  return heldConfiguration(store, account, deviceSubject(device, request), platformAccountBrokerUrl);
}

/**
 * Records in the registry the configuration hash the platform holds for the device (its expected
 * hash) and where the device stands with it: APPLIED when it reports that hash, PENDING otherwise
 * (a refusal of an earlier configuration no longer counts). Unchanged when both are already so.
 */
export async function recordExpectedConfiguration(
  store: ExpectedConfigurationStore,
  account: Account,
  device: DeviceRecord,
  held: HeldConfiguration,
): Promise<DeviceRecord> {
  const sha256 = held.built.sha256;
  const inSync = device.reportedConfigurationHash === sha256;
  if (device.expectedConfigurationHash === sha256 && (!inSync || device.configurationState === 'APPLIED')) return device;
  return store.upsertDevice(account.id, device.clientId, {
    expectedConfigurationHash: sha256,
    configurationState: inSync ? 'APPLIED' : 'PENDING',
    configurationError: null,
  });
}

/** listDevices answers at most this many per page. */
const pageSize = 1000;

/**
 * After an operator's change (a configuration edited, a category given another configuration, a
 * device moved), records the expected configuration of every device of the account that the
 * filter selects, online or not, so that the registry's "in sync" is right for offline devices
 * too; the online ones are also sent it (fleet-update notices). Answers how many records changed.
 */
export async function refreshExpectedConfigurations(
  deps: Pick<ProvisionerDependencies, 'accountBrokerUrl'> & { readonly store: ExpectedConfigurationStore; readonly log: Logger },
  accountId: string,
  filter: Pick<DeviceFilter, 'category' | 'clientId'>,
): Promise<number> {
  const account = await deps.store.getAccount(accountId);
  if (!account) return 0;
  let changed = 0;
  for (let offset = 0; ; offset += pageSize) {
    const page = await deps.store.listDevices({ ...filter, accountId, offset, limit: pageSize });
    for (const device of page.items) {
      const held = await heldConfigurationOfDevice(deps.store, account, device, deps.accountBrokerUrl);
      if (held && (await recordExpectedConfiguration(deps.store, account, device, held)) !== device) changed += 1;
    }
    if (page.items.length < pageSize) break;
  }
  if (changed > 0) deps.log.info({ account: account.name, changed, ...filter }, 'expected configurations recorded');
  return changed;
}
