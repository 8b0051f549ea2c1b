/**
 * Rules both store backends share for the records of issue 15 (store/registry-types.ts): a new
 * device record and how a patch applies to it, update jobs and their device statuses. As in
 * store/records.ts, inputs are copied field by field.
 */
import { newRecordId, normalizedTags } from './records.ts';
import type { DevicePatch, DeviceRecord, InstalledBundle, JobDeviceState, JobDeviceStatus, NewUpdateJob, UpdateJob } from './registry-types.ts';
import { jobDeviceStates } from './registry-types.ts';

/** A device seen for the first time: offline, nothing known yet, a new id. */
export function emptyDevice(accountId: string, clientId: string, now: number): DeviceRecord {
  return {
    id: newRecordId(now),
    accountId,
    clientId,
    online: false,
    brokerId: null,
    category: null,
    tags: [],
    model: null,
    serial: null,
    firmware: null,
    certificateSerial: null,
    certificateNotAfter: null,
    configurationId: null,
    configurationVersion: null,
    expectedConfigurationHash: null,
    reportedConfigurationHash: null,
    configurationState: null,
    configurationError: null,
    bundles: [],
    trustedRoots: [],
    provisionedOn: null,
    lastBirthOn: null,
    lastSeenOn: null,
    modifiedOn: now,
  };
}

/** The fields a device patch can set, in one list (both backends and givenDevicePatch follow it). */
export const devicePatchFields = [
  'online',
  'brokerId',
  'category',
  'tags',
  'model',
  'serial',
  'firmware',
  'certificateSerial',
  'certificateNotAfter',
  'configurationId',
  'configurationVersion',
  'expectedConfigurationHash',
  'reportedConfigurationHash',
  'configurationState',
  'configurationError',
  'bundles',
  'trustedRoots',
  'provisionedOn',
  'lastBirthOn',
  'lastSeenOn',
] as const satisfies readonly (keyof DevicePatch)[];

/**
 * The fields a device patch sets: absent and undefined ones are left out (they keep their
 * value), null is kept (it clears the field), anything else a caller spreads in is dropped.
 */
export function givenDevicePatch(patch: DevicePatch): DevicePatch {
  const given: Record<string, unknown> = {};
  for (const field of devicePatchFields) {
    const value = patch[field];
    if (value === undefined) continue;
    given[field] =
      field === 'tags' || field === 'trustedRoots'
        ? normalizedTags(value as readonly string[])
        : field === 'bundles'
          ? copyBundles(value as readonly InstalledBundle[])
          : value;
  }
  return given as DevicePatch;
}

function copyBundles(bundles: readonly InstalledBundle[]): InstalledBundle[] {
  return bundles.map(({ name, version, sha256 }) => ({ name, version, sha256 }));
}

/** Fields absent or undefined in the patch keep their value; modifiedOn becomes now. */
export function patchDevice(current: DeviceRecord, patch: DevicePatch, now: number): DeviceRecord {
  return { ...current, ...givenDevicePatch(patch), modifiedOn: now };
}

/** A device record as stored before issue 15 lacks the registry's fields: they take their empty values (the id aside, which a backend assigns). */
export function withRegistryFields(stored: Partial<DeviceRecord> & Pick<DeviceRecord, 'id' | 'accountId' | 'clientId' | 'modifiedOn'>): DeviceRecord {
  return { ...emptyDevice(stored.accountId, stored.clientId, stored.modifiedOn), ...stored };
}

export function buildUpdateJob(input: NewUpdateJob, now: number): UpdateJob {
  return {
    id: newRecordId(now),
    accountId: input.accountId,
    name: input.name,
    category: input.category ?? null,
    tags: normalizedTags(input.tags ?? []),
    clientIds: [...new Set(input.clientIds ?? [])],
    bundleIds: [...(input.bundleIds ?? [])],
    configurationId: input.configurationId ?? null,
    configurationVersion: input.configurationVersion ?? null,
    state: input.state ?? 'RUNNING',
    failureThreshold: input.failureThreshold ?? null,
    createdOn: now,
    createdBy: input.createdBy,
    modifiedOn: now,
    version: 1,
  };
}

export function buildJobDeviceStatus(
  jobId: string,
  accountId: string,
  clientId: string,
  status: { readonly state: JobDeviceState; readonly error?: string | null },
  now: number,
): JobDeviceStatus {
  return { jobId, accountId, clientId, state: status.state, error: status.error ?? null, modifiedOn: now };
}

/** Every job device state counted as 0: what countJobDevices starts from. */
export function emptyJobDeviceCounts(): Record<JobDeviceState, number> {
  return Object.fromEntries(jobDeviceStates.map((state) => [state, 0])) as Record<JobDeviceState, number>;
}

/**
 * Whether an update job targets a device (issue 15 §4): each part of the target that is given
 * narrows it, a category (the device's must be that one), tags (the device must carry every one),
 * clientIds (the device must be one of them). The API (counting and telling devices) and the
 * broker side (the latest matching job of one device) both apply this one rule.
 */
export function updateJobMatches(
  job: Pick<UpdateJob, 'category' | 'tags' | 'clientIds'>,
  device: Pick<DeviceRecord, 'clientId' | 'category' | 'tags'>,
): boolean {
  if (job.category !== null && job.category !== device.category) return false;
  if (!job.tags.every((tag) => device.tags.includes(tag))) return false;
  return job.clientIds.length === 0 || job.clientIds.includes(device.clientId);
}
