import type {
  DeviceAssignment,
  DeviceAssignmentInput,
  EnrollmentGroup,
  EnrollmentGroupPatch,
  FactoryCertificateBlock,
  ManufacturerCa,
  ManufacturerCaPatch,
  NewEnrollmentGroup,
  NewManufacturerCa,
  NewProvisioningCode,
  ProvisioningCode,
} from './enrollment-types.ts';
import { newRecordId, normalizedTags } from './records.ts';

/**
 * The records of zero-touch onboarding as both store backends build and patch them (as
 * store/records.ts does for the others), so SQLite and Redis store the same thing: the store
 * assigns ids, times and versions; lists are kept sorted without repeats, so a group compares
 * equal however its lists were given; serials and fingerprints are lower-case hex, as
 * X509Certificate prints them and the factory certificate check compares them.
 * Inputs are copied field by field: extra properties a caller spreads in never reach storage.
 */

/** Serials as stored: lower-case, sorted, without repeats. */
function normalizedSerials(serials: readonly string[]): string[] {
  return normalizedTags(serials.map((serial) => serial.toLowerCase()));
}

export function buildManufacturerCa(input: NewManufacturerCa, now: number): ManufacturerCa {
  return {
    id: newRecordId(now),
    name: input.name,
    pem: input.pem,
    fingerprintSha256: input.fingerprintSha256.toLowerCase(),
    subject: input.subject,
    notAfter: input.notAfter,
    enabled: input.enabled,
    createdOn: now,
    modifiedOn: now,
    version: 1,
  };
}

/** Only the name and whether it is enabled change: the certificate is the CA's identity (register another CA for another). */
export function patchManufacturerCa(current: ManufacturerCa, patch: ManufacturerCaPatch, now: number): ManufacturerCa {
  return {
    ...current,
    name: patch.name ?? current.name,
    enabled: patch.enabled ?? current.enabled,
    modifiedOn: now,
    version: current.version + 1,
  };
}

export function buildFactoryCertificateBlock(input: FactoryCertificateBlock): FactoryCertificateBlock {
  return {
    manufacturerCaId: input.manufacturerCaId,
    serial: input.serial.toLowerCase(),
    reason: input.reason,
    blockedOn: input.blockedOn,
    blockedBy: input.blockedBy,
  };
}

export function buildEnrollmentGroup(input: NewEnrollmentGroup, now: number): EnrollmentGroup {
  return {
    id: newRecordId(now),
    name: input.name,
    accountId: input.accountId,
    manufacturerCaId: input.manufacturerCaId,
    category: input.category ?? null,
    configurationId: input.configurationId ?? null,
    bundleIds: [...(input.bundleIds ?? [])],
    tags: normalizedTags(input.tags ?? []),
    allowSerials: normalizedSerials(input.allowSerials ?? []),
    allowClientIds: normalizedTags(input.allowClientIds ?? []),
    denySerials: normalizedSerials(input.denySerials ?? []),
    denyClientIds: normalizedTags(input.denyClientIds ?? []),
    validFrom: input.validFrom ?? null,
    validUntil: input.validUntil ?? null,
    reprovisionAllowed: input.reprovisionAllowed,
    provisionBrokerUrl: input.provisionBrokerUrl ?? null,
    enabled: input.enabled,
    createdOn: now,
    modifiedOn: now,
    version: 1,
  };
}

/** Fields absent or undefined in the patch keep their value (null clears a nullable one); the version goes up by one. */
export function patchEnrollmentGroup(current: EnrollmentGroup, patch: EnrollmentGroupPatch, now: number): EnrollmentGroup {
  return {
    ...current,
    name: patch.name ?? current.name,
    category: keep(patch.category, current.category),
    configurationId: keep(patch.configurationId, current.configurationId),
    bundleIds: [...(patch.bundleIds ?? current.bundleIds)],
    tags: patch.tags === undefined ? current.tags : normalizedTags(patch.tags),
    allowSerials: patch.allowSerials === undefined ? current.allowSerials : normalizedSerials(patch.allowSerials),
    allowClientIds: patch.allowClientIds === undefined ? current.allowClientIds : normalizedTags(patch.allowClientIds),
    denySerials: patch.denySerials === undefined ? current.denySerials : normalizedSerials(patch.denySerials),
    denyClientIds: patch.denyClientIds === undefined ? current.denyClientIds : normalizedTags(patch.denyClientIds),
    validFrom: keep(patch.validFrom, current.validFrom),
    validUntil: keep(patch.validUntil, current.validUntil),
    reprovisionAllowed: patch.reprovisionAllowed ?? current.reprovisionAllowed,
    provisionBrokerUrl: keep(patch.provisionBrokerUrl, current.provisionBrokerUrl),
    enabled: patch.enabled ?? current.enabled,
    modifiedOn: now,
    version: current.version + 1,
  };
}

export function buildProvisioningCode(input: NewProvisioningCode, now: number): ProvisioningCode {
  return {
    id: newRecordId(now),
    accountId: input.accountId,
    category: input.category ?? null,
    codeHash: input.codeHash,
    status: 'PENDING',
    clientId: null,
    provisionRequestId: null,
    createdOn: now,
    createdBy: input.createdBy,
    expiresOn: input.expiresOn,
    registeredOn: null,
  };
}

/**
 * What bindProvisioningCode makes of a code: bound to this device and the request made for it
 * (the latest, when the device came back), or null when the code does not admit the device
 * (no longer PENDING, or another device holds it).
 */
export function boundProvisioningCode(current: ProvisioningCode, clientId: string, provisionRequestId: string): ProvisioningCode | null {
  if (current.status !== 'PENDING') return null;
  if (current.clientId !== null && current.clientId !== clientId) return null;
  return { ...current, clientId, provisionRequestId };
}

/** A used code: REGISTERED at `now`, its hash gone (the code can never be matched again); null when it was not PENDING. */
export function registeredProvisioningCode(current: ProvisioningCode, now: number): ProvisioningCode | null {
  if (current.status !== 'PENDING') return null;
  return { ...current, status: 'REGISTERED', codeHash: null, registeredOn: now };
}

export function buildDeviceAssignment(input: DeviceAssignmentInput, now: number): DeviceAssignment {
  return {
    clientId: input.clientId,
    enrollmentGroupId: input.enrollmentGroupId ?? null,
    provisionBrokerUrl: input.provisionBrokerUrl ?? null,
    modifiedOn: now,
    modifiedBy: input.modifiedBy,
  };
}

function keep<T>(patched: T | undefined, current: T): T {
  return patched === undefined ? current : patched;
}
