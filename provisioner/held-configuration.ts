import type { Account, Category, DeviceRecord, ProvisionRequest, ProvisionStore } from '../store/types.ts';
import { buildConfiguration, type BuiltConfiguration } from './configuration-builder.ts';

type AssignmentStore = Pick<ProvisionStore, 'getConfiguration' | 'getConfigurationVersion' | 'getCategoryByName'>;

/** The configuration the platform holds for a device, and where it comes from. */
export interface HeldConfiguration {
  /** The configuration record; null: the account's template. */
  readonly configurationId: string | null;
  /** Its version the device should run; null with the template. */
  readonly version: number | null;
  readonly built: BuiltConfiguration;
}

/** What decides a device's configuration and bundles: its request, its category, what an update job pinned on it. */
export interface AssignmentSubject {
  readonly clientId: string;
  /** The category it is in: the device record's once it has one (a device can be moved), else its request's. */
  readonly category: string | null;
  /** What its provision request names. */
  readonly request: Pick<ProvisionRequest, 'configurationId' | 'bundleIds'> | null;
  /** A configuration an update job pinned on the device (DeviceRecord.configurationId/Version), version null = the newest. */
  readonly pinned: { readonly configurationId: string; readonly version: number | null } | null;
}

/** The subject of a device the registry knows, with its (completed) provision request if it still exists. */
export function deviceSubject(device: DeviceRecord, request: Pick<ProvisionRequest, 'configurationId' | 'bundleIds' | 'category'> | null): AssignmentSubject {
  return {
    clientId: device.clientId,
    category: device.category ?? request?.category ?? null,
    request,
    pinned: device.configurationId === null ? null : { configurationId: device.configurationId, version: device.configurationVersion },
  };
}

/** The subject of a provisioning attempt: the request alone (an update job's pin does not outlive a new provisioning). */
export function requestSubject(request: Pick<ProvisionRequest, 'clientId' | 'configurationId' | 'bundleIds' | 'category'>): AssignmentSubject {
  return { clientId: request.clientId, category: request.category, request, pinned: null };
}

async function categoryOf(store: AssignmentStore, account: Account, subject: AssignmentSubject): Promise<Category | null> {
  return subject.category === null ? null : store.getCategoryByName(account.id, subject.category);
}

/**
 * The configuration the platform holds for a device, the first of: what an update job pinned on
 * it, its provision request's attachment, its category's configuration, the account's template
 * (issue 15 §2). A configuration that no longer exists counts as none. Deterministic, so
 * provisioning, completion, births and pushes all judge the device by this one.
 */
export async function heldConfiguration(
  store: AssignmentStore,
  account: Account,
  subject: AssignmentSubject,
  platformAccountBrokerUrl: string,
): Promise<HeldConfiguration> {
  const values = { clientId: subject.clientId, account: account.name, brokerUrl: account.brokerUrl ?? platformAccountBrokerUrl };
  if (subject.pinned) {
    const { configurationId, version } = subject.pinned;
    const pinned = version === null ? await store.getConfiguration(configurationId) : await store.getConfigurationVersion(configurationId, version);
    if (pinned) return { configurationId, version: pinned.version, built: buildConfiguration(pinned, account, values) };
  }
  const attachedId = subject.request?.configurationId ?? (await categoryOf(store, account, subject))?.configurationId ?? null;
  const attachment = attachedId === null ? null : await store.getConfiguration(attachedId);
  if (attachment) return { configurationId: attachment.id, version: attachment.version, built: buildConfiguration(attachment, account, values) };
  return { configurationId: null, version: null, built: buildConfiguration(null, account, values) };
}

/** The bundles a device gets when provisioned: its request's, else its category's, else the account's defaults. */
export async function assignedBundleIds(store: AssignmentStore, account: Account, subject: AssignmentSubject): Promise<readonly string[]> {
  if (subject.request && subject.request.bundleIds.length > 0) return subject.request.bundleIds;
  const category = await categoryOf(store, account, subject);
  if (category && category.bundleIds.length > 0) return category.bundleIds;
  return account.defaultBundleIds;
}
