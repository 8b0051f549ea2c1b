import { v7 as uuidV7 } from 'uuid';
import type {
  Account,
  Category,
  CategoryPatch,
  ConfigurationVersion,
  NewCategory,
  AccountPatch,
  AuditEvent,
  BundleMetadata,
  Configuration,
  DeviceFacts,
  IssuedCertificate,
  NewAccount,
  NewAuditEvent,
  NewBundle,
  NewCertificate,
  NewConfiguration,
  NewProvisionRequest,
  PageOptions,
  ProvisionRequest,
  ProvisionRequestPatch,
  ReportedDeviceFacts,
} from './types.ts';

/**
 * Rules both store backends share, so they cannot drift apart: which fields the store assigns
 * on create, how a patch applies, how a page is windowed, and the wording of refusals.
 * Inputs are copied field by field: extra properties a caller spreads in never reach storage.
 */

export const defaultPageLimit = 50;
export const maxPageLimit = 1000;

export interface PageWindow {
  readonly offset: number;
  readonly limit: number;
}

/** Offset at least 0; limit defaults to 50 and is clamped to 0..1000 (0 = count only). */
export function pageWindow(options: PageOptions = {}): PageWindow {
  const offset = Math.max(0, Math.floor(options.offset ?? 0) || 0);
  const requested = options.limit === undefined ? defaultPageLimit : Math.floor(options.limit) || 0;
  return { offset, limit: Math.min(maxPageLimit, Math.max(0, requested)) };
}

/** An empty list filter means "not filtered", like an absent one. */
export function activeListFilter<T>(values: readonly T[] | undefined): readonly T[] | undefined {
  return values !== undefined && values.length > 0 ? values : undefined;
}

/** Details of refusals, worded the same by both backends. */
export const refusal = {
  accountNameTaken: 'an account with this name exists',
  accountNotFound: 'account not found',
  accountHasRequests: 'account has provision requests',
  accountHasConfigurations: 'account has configurations',
  accountHasBundles: 'account has bundles',
  clientIdTakenInAccount: 'the account already has a provision request for this clientId',
  clientIdEnabledElsewhere: 'another ENABLED provision request exists for this clientId',
  requestNotFound: 'provision request not found',
  configurationNotFound: 'configuration not found',
  bundleNotFound: 'bundle not found',
  certificateNotFound: 'certificate not found',
  serialTaken: 'a certificate with this serial exists',
  renewalRequestAnswered: 'a certificate of this device already answers this renewal request.id',
  deviceNotFound: 'device not found',
  categoryNameTaken: 'the account has a category with this name',
  categoryNotFound: 'category not found',
  updateJobNotFound: 'update job not found',
  manufacturerCaNotFound: 'manufacturer CA not found',
  manufacturerCaNameTaken: 'a manufacturer CA with this name exists',
  manufacturerCaFingerprintTaken: 'this CA certificate is registered already (same SHA-256 fingerprint)',
  manufacturerCaInUse: 'enrollment groups name this manufacturer CA',
  factoryCertificateBlocked: 'this factory certificate is blocked already',
  factoryCertificateNotBlocked: 'this factory certificate is not blocked',
  enrollmentGroupNotFound: 'enrollment group not found',
  enrollmentGroupNameTaken: 'the account has an enrollment group with this name',
  provisioningCodeNotFound: 'provisioning code not found',
  provisioningCodeHashTaken: 'a provisioning code with this hash exists',
  deviceAssignmentNotFound: 'device assignment not found',
  accountHasEnrollmentGroups: 'account has enrollment groups',
  accountHasProvisioningCodes: 'account has provisioning codes',
  staleVersion: 'the record was updated by someone else',
} as const;

/**
 * A UUID version 7 (RFC 9562): the creation time in milliseconds, then random bits. Ids made
 * one after the other sort next to each other, so SQLite's indexes on them (every primary key,
 * the audit log's index by request) grow at their end. With random (version 4) ids each insert
 * landed on a random page of those indexes, a batch of a thousand requests dirtied most of
 * their pages, and the commit wrote them all to the WAL: more the bigger the tables.
 */
export function newRecordId(now = Date.now()): string {
  return uuidV7({ msecs: now });
}

export function buildAccount(input: NewAccount, now: number): Account {
  return {
    id: newRecordId(now),
    name: input.name,
    brokerUrl: input.brokerUrl ?? null,
    configurationTemplate: input.configurationTemplate ?? {},
    defaultBundleIds: [...(input.defaultBundleIds ?? [])],
    createdOn: now,
    modifiedOn: now,
    version: 1,
  };
}

/** Fields absent or undefined in the patch keep their value; the version goes up by one. */
export function patchAccount(current: Account, patch: AccountPatch, now: number): Account {
  return {
    ...current,
    name: keep(patch.name, current.name),
    brokerUrl: keep(patch.brokerUrl, current.brokerUrl),
    configurationTemplate: keep(patch.configurationTemplate, current.configurationTemplate),
    defaultBundleIds: [...keep(patch.defaultBundleIds, current.defaultBundleIds)],
    modifiedOn: now,
    version: current.version + 1,
  };
}

/**
 * The three device facts, each null when absent or undefined (deviceFacts({}) = none known yet);
 * nothing else a caller spreads in.
 */
export function deviceFacts(reported: ReportedDeviceFacts): DeviceFacts {
  return { model: reported.model ?? null, serial: reported.serial ?? null, firmware: reported.firmware ?? null };
}

export function buildProvisionRequest(input: NewProvisionRequest, now: number): ProvisionRequest {
  return {
    id: newRecordId(now),
    accountId: input.accountId,
    clientId: input.clientId,
    username: input.username,
    passwordHash: input.passwordHash,
    activationKeyHash: input.activationKeyHash ?? null,
    activatesOn: input.activatesOn,
    expiresOn: input.expiresOn,
    retryMaxAttempts: input.retryMaxAttempts,
    retryCount: 0,
    overwriteIfDuplicate: input.overwriteIfDuplicate,
    status: input.status,
    jobStatus: 'CREATED',
    configurationId: input.configurationId ?? null,
    bundleIds: [...(input.bundleIds ?? [])],
    category: input.category ?? null,
    tags: normalizedTags(input.tags ?? []),
    currentRequestId: null,
    certificateSerial: null,
    device: deviceFacts({}),
    createdOn: now,
    createdBy: input.createdBy,
    modifiedOn: now,
    modifiedBy: input.createdBy,
    version: 1,
  };
}

export function patchProvisionRequest(current: ProvisionRequest, patch: ProvisionRequestPatch, now: number): ProvisionRequest {
  return {
    ...current,
    clientId: keep(patch.clientId, current.clientId),
    username: keep(patch.username, current.username),
    passwordHash: keep(patch.passwordHash, current.passwordHash),
    activationKeyHash: keep(patch.activationKeyHash, current.activationKeyHash),
    activatesOn: keep(patch.activatesOn, current.activatesOn),
    expiresOn: keep(patch.expiresOn, current.expiresOn),
    retryMaxAttempts: keep(patch.retryMaxAttempts, current.retryMaxAttempts),
    retryCount: keep(patch.retryCount, current.retryCount),
    overwriteIfDuplicate: keep(patch.overwriteIfDuplicate, current.overwriteIfDuplicate),
    status: keep(patch.status, current.status),
    jobStatus: keep(patch.jobStatus, current.jobStatus),
    configurationId: keep(patch.configurationId, current.configurationId),
    bundleIds: [...keep(patch.bundleIds, current.bundleIds)],
    category: keep(patch.category, current.category),
    tags: patch.tags === undefined ? current.tags : normalizedTags(patch.tags),
    currentRequestId: keep(patch.currentRequestId, current.currentRequestId),
    certificateSerial: keep(patch.certificateSerial, current.certificateSerial),
    device: patch.device === undefined ? current.device : deviceFacts(patch.device),
    modifiedOn: now,
    modifiedBy: patch.modifiedBy,
    version: current.version + 1,
  };
}

export function buildConfiguration(input: NewConfiguration, now: number): Configuration {
  return { id: newRecordId(now), accountId: input.accountId, name: input.name, content: input.content ?? {}, version: 1, createdOn: now, modifiedOn: now };
}

/** The version a configuration's current content is kept as. */
export function configurationVersionOf(configuration: Configuration, createdBy: string): ConfigurationVersion {
  return {
    configurationId: configuration.id,
    version: configuration.version,
    content: configuration.content,
    createdOn: configuration.modifiedOn,
    createdBy,
  };
}

/** The next version of a configuration with new content. */
export function nextConfigurationVersion(current: Configuration, content: Record<string, unknown>, now: number): Configuration {
  return { ...current, content, version: current.version + 1, modifiedOn: now };
}

/** Tags as stored: sorted, without repeats. */
export function normalizedTags(tags: readonly string[]): string[] {
  return [...new Set(tags)].sort();
}

export function buildCategory(input: NewCategory, now: number): Category {
  return {
    id: newRecordId(now),
    accountId: input.accountId,
    name: input.name,
    description: input.description ?? '',
    configurationId: input.configurationId ?? null,
    bundleIds: [...(input.bundleIds ?? [])],
    createdOn: now,
    modifiedOn: now,
    version: 1,
  };
}

export function patchCategory(current: Category, patch: CategoryPatch, now: number): Category {
  return {
    ...current,
    description: keep(patch.description, current.description),
    configurationId: keep(patch.configurationId, current.configurationId),
    bundleIds: [...keep(patch.bundleIds, current.bundleIds)],
    modifiedOn: now,
    version: current.version + 1,
  };
}

export function buildBundle(input: NewBundle, now: number): BundleMetadata {
  return {
    id: newRecordId(now),
    accountId: input.accountId,
    name: input.name,
    version: input.version,
    size: input.size,
    sha256: input.sha256,
    createdOn: now,
  };
}

export function buildCertificate(input: NewCertificate, now: number): IssuedCertificate {
  return {
    serial: input.serial,
    accountId: input.accountId,
    clientId: input.clientId,
    provisionRequestId: input.provisionRequestId ?? null,
    pem: input.pem,
    notBefore: input.notBefore,
    notAfter: input.notAfter,
    status: 'VALID',
    revokedOn: null,
    revocationReason: null,
    createdOn: now,
    renewsSerial: input.renewsSerial ?? null,
    renewalRequestId: input.renewalRequestId ?? null,
    renewalSettledOn: null,
  };
}

/** A certificate record written before CERT-V1 lacks the renewal fields: they are null. */
export function withRenewalFields(
  stored: Omit<IssuedCertificate, 'renewsSerial' | 'renewalRequestId' | 'renewalSettledOn'> & Partial<IssuedCertificate>,
): IssuedCertificate {
  return {
    ...stored,
    renewsSerial: stored.renewsSerial ?? null,
    renewalRequestId: stored.renewalRequestId ?? null,
    renewalSettledOn: stored.renewalSettledOn ?? null,
  };
}

export function revokedCertificate(current: IssuedCertificate, reason: string, now: number): IssuedCertificate {
  return { ...current, status: 'REVOKED', revokedOn: now, revocationReason: reason };
}

/** The audit event without its id, which the store assigns while appending. */
export function buildAuditEvent(input: NewAuditEvent, now: number): Omit<AuditEvent, 'id'> {
  return {
    time: input.time ?? now,
    type: input.type,
    outcome: input.outcome,
    actor: input.actor,
    accountId: input.accountId ?? null,
    clientId: input.clientId ?? null,
    provisionRequestId: input.provisionRequestId ?? null,
    detail: input.detail ?? {},
  };
}

function keep<T>(patched: T | undefined, current: T): T {
  return patched === undefined ? current : patched;
}
