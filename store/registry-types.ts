/**
 * The records of the platform's life with a device after its birth (issue 15): the device
 * registry, update jobs and the broker heartbeats that keep the online state right. Part of the
 * store's contract (store/types.ts re-exports them), kept here so that each file holds one topic.
 */
import type { PageOptions } from './types.ts';

/** Where a device stands with the configuration the platform holds for it (CONF-V1, PROTOCOL.md). */
export const configurationStates = ['PENDING', 'APPLIED', 'REFUSED'] as const;
export type ConfigurationState = (typeof configurationStates)[number];

/** An application bundle a device runs, as the platform last knew it. */
export interface InstalledBundle {
  readonly name: string;
  readonly version: string;
  readonly sha256: string;
}

/** A provisioned device as the platform knows it on the account broker: the device registry (issue 15 §1). */
export interface DeviceRecord {
  /** Assigned when the record is first made; opaque, never changes. */
  readonly id: string;
  readonly accountId: string;
  readonly clientId: string;
  readonly online: boolean;
  /** The broker process it is connected to (online) or was last seen on; null before its first birth. */
  readonly brokerId: string | null;
  /** Name of the account's category it is in, or null. */
  readonly category: string | null;
  /** Sorted, without repeats. */
  readonly tags: readonly string[];
  /** What the device says about itself (provision request, then each birth); null = never said. */
  readonly model: string | null;
  readonly serial: string | null;
  readonly firmware: string | null;
  /** Serial of its current certificate (its identity). */
  readonly certificateSerial: string | null;
  /** notAfter of that certificate. */
  readonly certificateNotAfter: number | null;
  /**
   * A configuration an update job assigned to the device (id, and the version the job sent; null =
   * the newest), which then wins over its request's, its category's and the account's template
   * (provisioner/held-configuration.ts). null: none, the device follows those. A new provisioning clears it.
   */
  readonly configurationId: string | null;
  readonly configurationVersion: number | null;
  /** Configuration hash the platform holds for the device (what it should run). */
  readonly expectedConfigurationHash: string | null;
  /** Configuration hash the device last reported (birth or CONF-V1 acknowledgement). */
  readonly reportedConfigurationHash: string | null;
  /** Of the expected configuration: sent and not answered, applied, or refused (then configurationError says why). null = nothing sent yet. */
  readonly configurationState: ConfigurationState | null;
  readonly configurationError: string | null;
  readonly bundles: readonly InstalledBundle[];
  /**
   * The roots the device said it trusts at its last birth that said (the metric trust.roots,
   * PROTOCOL.md §10): lower-case hex SHA-256 of each root certificate, sorted. Empty: never said.
   * How an operator counts the devices that know a new root before retiring the old one.
   */
  readonly trustedRoots: readonly string[];
  /** When it first completed provisioning (a provisioning again keeps it). */
  readonly provisionedOn: number | null;
  readonly lastBirthOn: number | null;
  readonly lastSeenOn: number | null;
  readonly modifiedOn: number;
}

export interface DeviceFilter extends PageOptions {
  readonly accountId?: string;
  readonly clientId?: string;
  readonly online?: boolean;
  readonly category?: string;
  /** Devices that carry this tag. */
  readonly tag?: string;
  readonly model?: string;
  readonly firmware?: string;
  readonly brokerId?: string;
  /**
   * true: expectedConfigurationHash is set and equals reportedConfigurationHash; false: the
   * expected hash is set and the reported one differs or is null. Devices without an expected hash match neither.
   */
  readonly configurationInSync?: boolean;
  /** certificateNotAfter < this (devices without a certificate never match). */
  readonly certificateExpiresBefore?: number;
  /** Devices whose trustedRoots hold this SHA-256 (hex). */
  readonly trustsRoot?: string;
}

/** null clears a field; tags are stored sorted and without repeats. */
export type DevicePatch = Partial<Omit<DeviceRecord, 'id' | 'accountId' | 'clientId' | 'modifiedOn'>>;

/** An update job's own state (issue 15 §4): RUNNING sends, PAUSED holds, CANCELLED and STOPPED (failure threshold reached) are final. */
export const updateJobStates = ['RUNNING', 'PAUSED', 'CANCELLED', 'STOPPED'] as const;
export type UpdateJobState = (typeof updateJobStates)[number];

/**
 * An update job: bundles and/or a configuration version for the devices of an account that match
 * its target (a category, tags, a list of clientIds: each given narrows). A device online gets it
 * at once; one that connects later gets the latest matching job (innovaphone's rule).
 */
export interface UpdateJob {
  readonly id: string;
  readonly accountId: string;
  readonly name: string;
  /** Target: devices of this category (null: any). */
  readonly category: string | null;
  /** Target: devices carrying every one of these tags (empty: any). Sorted, without repeats. */
  readonly tags: readonly string[];
  /** Target: only these clientIds (empty: any). */
  readonly clientIds: readonly string[];
  readonly bundleIds: readonly string[];
  readonly configurationId: string | null;
  /** The configuration version the job sends, fixed when it is created. */
  readonly configurationVersion: number | null;
  readonly state: UpdateJobState;
  /** The job stops (state STOPPED) once this many devices failed; null: never. */
  readonly failureThreshold: number | null;
  readonly createdOn: number;
  readonly createdBy: string;
  readonly modifiedOn: number;
  /** Optimistic lock. */
  readonly version: number;
}

/** Where one device stands in an update job. */
export const jobDeviceStates = ['PENDING', 'SENT', 'DOWNLOADING', 'INSTALLED', 'FAILED'] as const;
export type JobDeviceState = (typeof jobDeviceStates)[number];

export interface JobDeviceStatus {
  readonly jobId: string;
  readonly accountId: string;
  readonly clientId: string;
  readonly state: JobDeviceState;
  /** Why it failed, as the device said; null otherwise. */
  readonly error: string | null;
  readonly modifiedOn: number;
}

export interface UpdateJobFilter extends PageOptions {
  readonly accountId?: string;
  readonly states?: readonly UpdateJobState[];
}

export type NewUpdateJob = Omit<UpdateJob, 'id' | 'createdOn' | 'modifiedOn' | 'version' | 'state'> & { readonly state?: UpdateJobState };

/** A broker process's last sign of life (the device registry's online state survives a broker killed with kill -9). */
export interface BrokerHeartbeat {
  readonly brokerId: string;
  readonly seenOn: number;
}
