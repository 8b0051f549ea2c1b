/**
 * Zero-touch onboarding (issue 18): what lets a device provision without an operator having made
 * its provision request first.
 * - A manufacturer CA (the CA a device maker signs factory certificates with) and the enrollment
 *   groups on it: a device presenting a factory certificate from the CA lands in the account and
 *   category of its group, a provision request made for it on the fly.
 * - Provisioning codes: 12 random digits a person types into a device, tied to an account and a
 *   category, stored as a keyed hash only, deleted when they expire; once used, only the record of
 *   who registered remains.
 * - Device assignments: where discovery sends a device with a factory certificate (another
 *   enrollment group, or another platform instance's provision broker).
 */
import type { Page, PageOptions } from './types.ts';

export interface ManufacturerCa {
  readonly id: string;
  /** Unique on the platform. */
  readonly name: string;
  /** The CA certificate (PEM): factory certificates are checked against its key. */
  readonly pem: string;
  /** SHA-256 of the certificate's DER, lower-case hex: unique on the platform. */
  readonly fingerprintSha256: string;
  /** The subject as X509Certificate prints it. */
  readonly subject: string;
  readonly notAfter: number;
  /** A disabled CA admits no device, whatever its groups say. */
  readonly enabled: boolean;
  readonly createdOn: number;
  readonly modifiedOn: number;
  readonly version: number;
}

export type NewManufacturerCa = Pick<ManufacturerCa, 'name' | 'pem' | 'fingerprintSha256' | 'subject' | 'notAfter' | 'enabled'>;
export type ManufacturerCaPatch = Partial<Pick<ManufacturerCa, 'name' | 'enabled'>>;

/** One factory certificate refused one by one (a stolen device), by its CA and serial. */
export interface FactoryCertificateBlock {
  readonly manufacturerCaId: string;
  /** Lower-case hex, as X509Certificate prints it. */
  readonly serial: string;
  readonly reason: string;
  readonly blockedOn: number;
  readonly blockedBy: string;
}

export interface EnrollmentGroup {
  readonly id: string;
  /** Unique per account. */
  readonly name: string;
  /** Where its devices land. */
  readonly accountId: string;
  readonly manufacturerCaId: string;
  /** A category of the account, or null. */
  readonly category: string | null;
  /** What the made request attaches (as an operator's request would); null/empty: the category's or the account's. */
  readonly configurationId: string | null;
  readonly bundleIds: readonly string[];
  /** Tags the devices inherit, sorted, without repeats. */
  readonly tags: readonly string[];
  /** Non-empty: only these factory certificate serials (lower-case hex) are admitted. */
  readonly allowSerials: readonly string[];
  /** Non-empty: only these clientIds (certificate CNs) are admitted. */
  readonly allowClientIds: readonly string[];
  readonly denySerials: readonly string[];
  readonly denyClientIds: readonly string[];
  /** Devices are admitted from validFrom (null: at once) until validUntil (null: no end). */
  readonly validFrom: number | null;
  readonly validUntil: number | null;
  /** true: a device that completed may provision again with its factory certificate (a factory reset). */
  readonly reprovisionAllowed: boolean;
  /** Discovery sends the group's devices to this provision broker URL (another platform instance); null: this platform's. */
  readonly provisionBrokerUrl: string | null;
  readonly enabled: boolean;
  readonly createdOn: number;
  readonly modifiedOn: number;
  readonly version: number;
}

export type NewEnrollmentGroup = Omit<EnrollmentGroup, 'id' | 'createdOn' | 'modifiedOn' | 'version'>;
export type EnrollmentGroupPatch = Partial<Omit<NewEnrollmentGroup, 'accountId' | 'manufacturerCaId'>>;

export interface EnrollmentGroupFilter extends PageOptions {
  readonly accountId?: string;
  readonly manufacturerCaId?: string;
  /** The groups naming this category (with accountId: what keeps a category from being deleted). */
  readonly category?: string;
}

export type ProvisioningCodeStatus = 'PENDING' | 'REGISTERED';

export interface ProvisioningCode {
  readonly id: string;
  readonly accountId: string;
  /** A category of the account, or null. */
  readonly category: string | null;
  /** HMAC-SHA-256 of the code under the platform's code key, hex; null once REGISTERED (the code is gone). */
  readonly codeHash: string | null;
  readonly status: ProvisioningCodeStatus;
  /** The device that used it: set at its first accepted CONNECT, and from then on the only one it admits. */
  readonly clientId: string | null;
  /** The request made for that device. */
  readonly provisionRequestId: string | null;
  readonly createdOn: number;
  readonly createdBy: string;
  readonly expiresOn: number;
  /** When the device completed provisioning with it. */
  readonly registeredOn: number | null;
}

export type NewProvisioningCode = Pick<ProvisioningCode, 'accountId' | 'category' | 'codeHash' | 'createdBy' | 'expiresOn'>;

export interface ProvisioningCodeFilter extends PageOptions {
  readonly accountId?: string;
  readonly status?: ProvisioningCodeStatus;
  /** The codes naming this category (with accountId and PENDING: what keeps a category from being deleted). */
  readonly category?: string;
}

/** Where discovery sends one device with a factory certificate, set by an operator to move it. */
export interface DeviceAssignment {
  /** The factory certificate's CN (the clientId it provisions with). */
  readonly clientId: string;
  /** The group it provisions into next time, instead of the one its certificate matches; null: that one. */
  readonly enrollmentGroupId: string | null;
  /** Another platform instance's provision broker; null: the group's, or this platform's. */
  readonly provisionBrokerUrl: string | null;
  readonly modifiedOn: number;
  readonly modifiedBy: string;
}

export type DeviceAssignmentInput = Omit<DeviceAssignment, 'modifiedOn'>;

/**
 * The store methods of zero-touch onboarding (part of ProvisionStore). Errors as elsewhere:
 * NOT_FOUND, DUPLICATE (name, fingerprint or code hash taken; a CA still named by a group),
 * VERSION_CONFLICT.
 */
export interface EnrollmentStoreMethods {
  createManufacturerCa(ca: NewManufacturerCa): Promise<ManufacturerCa>;
  getManufacturerCa(id: string): Promise<ManufacturerCa | null>;
  /** Every manufacturer CA, oldest first (a platform has few). */
  listManufacturerCas(): Promise<readonly ManufacturerCa[]>;
  updateManufacturerCa(id: string, expectedVersion: number, patch: ManufacturerCaPatch): Promise<ManufacturerCa>;
  /** Refused (DUPLICATE) while an enrollment group names it; its blocks go with it. */
  deleteManufacturerCa(id: string): Promise<void>;

  /** DUPLICATE when the serial is blocked already. */
  blockFactoryCertificate(block: FactoryCertificateBlock): Promise<FactoryCertificateBlock>;
  getFactoryCertificateBlock(manufacturerCaId: string, serial: string): Promise<FactoryCertificateBlock | null>;
  /** Newest first. */
  listFactoryCertificateBlocks(manufacturerCaId: string, page?: PageOptions): Promise<Page<FactoryCertificateBlock>>;
  /** NOT_FOUND when it was not blocked. */
  unblockFactoryCertificate(manufacturerCaId: string, serial: string): Promise<void>;

  createEnrollmentGroup(group: NewEnrollmentGroup): Promise<EnrollmentGroup>;
  getEnrollmentGroup(id: string): Promise<EnrollmentGroup | null>;
  /** Oldest first. */
  listEnrollmentGroups(filter?: EnrollmentGroupFilter): Promise<Page<EnrollmentGroup>>;
  updateEnrollmentGroup(id: string, expectedVersion: number, patch: EnrollmentGroupPatch): Promise<EnrollmentGroup>;
  deleteEnrollmentGroup(id: string): Promise<void>;

  /** All or nothing, in order; DUPLICATE when a code hash is taken. */
  createProvisioningCodes(codes: readonly NewProvisioningCode[]): Promise<ProvisioningCode[]>;
  getProvisioningCode(id: string): Promise<ProvisioningCode | null>;
  findProvisioningCodeByHash(codeHash: string): Promise<ProvisioningCode | null>;
  /** Oldest first. */
  listProvisioningCodes(filter?: ProvisioningCodeFilter): Promise<Page<ProvisioningCode>>;
  /**
   * Ties a PENDING code to the device using it. true when it is now (or already was) bound to
   * this clientId; false when another clientId holds it or it is no longer PENDING. Atomic.
   */
  bindProvisioningCode(id: string, clientId: string, provisionRequestId: string): Promise<boolean>;
  /** PENDING → REGISTERED at `now`, its hash removed. false when it was not PENDING (or is gone). */
  markProvisioningCodeRegistered(id: string, now: number): Promise<boolean>;
  deleteProvisioningCode(id: string): Promise<void>;
  /** Deletes PENDING codes with expiresOn <= now (whole records); returns how many. */
  deleteExpiredProvisioningCodes(now: number): Promise<number>;

  getDeviceAssignment(clientId: string): Promise<DeviceAssignment | null>;
  /** Creates or replaces. */
  putDeviceAssignment(assignment: DeviceAssignmentInput): Promise<DeviceAssignment>;
  /** Oldest change first. */
  listDeviceAssignments(page?: PageOptions): Promise<Page<DeviceAssignment>>;
  /** NOT_FOUND when there is none. */
  deleteDeviceAssignment(clientId: string): Promise<void>;
}
