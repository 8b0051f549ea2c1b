import { describe } from 'node:test';
import { accountContract } from './store-contract/accounts.ts';
import { attachmentContract } from './store-contract/attachments.ts';
import { auditAndSettingsContract } from './store-contract/audit-and-settings.ts';
import { auditRetentionContract } from './store-contract/audit-retention.ts';
import { brokerHeartbeatContract } from './store-contract/broker-heartbeats.ts';
import { categoryContract } from './store-contract/categories.ts';
import { certificateContract } from './store-contract/certificates.ts';
import { clientIdHolderContract } from './store-contract/client-id-holders.ts';
import { clientListingContract } from './store-contract/client-listings.ts';
import { configurationVersionContract } from './store-contract/configuration-versions.ts';
import { deviceAssignmentContract } from './store-contract/device-assignments.ts';
import { deviceFilterContract } from './store-contract/device-filters.ts';
import { deviceRegistryContract } from './store-contract/device-registry.ts';
import { deviceContract } from './store-contract/devices.ts';
import { durabilityContract } from './store-contract/durability.ts';
import { enrollmentGroupContract } from './store-contract/enrollment-groups.ts';
import { freshStoreFrom, type OpenStore } from './store-contract/fixtures.ts';
import { listedSettingsContract } from './store-contract/listed-settings.ts';
import { manufacturerCaContract } from './store-contract/manufacturer-cas.ts';
import { provisionRequestContract } from './store-contract/provision-requests.ts';
import { provisioningCodeContract } from './store-contract/provisioning-codes.ts';
import { requestBatchContract } from './store-contract/request-batches.ts';
import { requestCategoryContract } from './store-contract/request-categories.ts';
import { requestConcurrencyContract } from './store-contract/request-concurrency.ts';
import { requestListingContract } from './store-contract/request-listing.ts';
import { updateJobContract } from './store-contract/update-jobs.ts';
import { webhookContract } from './store-contract/webhooks.ts';

export type { OpenedStore, OpenStore } from './store-contract/fixtures.ts';

/**
 * The one contract every ProvisionStore backend must pass (store/types.ts). `open` must answer
 * a fresh, empty store on each call, with `openAnother` opening a second handle on the same
 * data (a second worker, or the same process after a restart) and `cleanup` removing it all.
 */
export function storeContract(name: string, open: OpenStore): void {
  const fresh = freshStoreFrom(open);
  describe(`${name} store contract`, () => {
    accountContract(fresh);
    provisionRequestContract(fresh);
    requestBatchContract(fresh);
    requestConcurrencyContract(fresh);
    requestListingContract(open);
    clientListingContract(fresh);
    attachmentContract(fresh);
    configurationVersionContract(fresh);
    categoryContract(fresh);
    requestCategoryContract(fresh);
    certificateContract(fresh);
    clientIdHolderContract(fresh);
    deviceContract(fresh);
    deviceRegistryContract(fresh);
    deviceFilterContract(fresh);
    updateJobContract(fresh);
    brokerHeartbeatContract(fresh);
    auditAndSettingsContract(fresh);
    listedSettingsContract(fresh);
    auditRetentionContract(fresh);
    webhookContract(fresh);
    manufacturerCaContract(fresh);
    enrollmentGroupContract(fresh);
    provisioningCodeContract(fresh);
    deviceAssignmentContract(fresh);
    durabilityContract(fresh);
  });
}
