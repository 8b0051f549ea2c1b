/**
 * The provision store: one interface, two backends (SQLite embedded, Redis for scale-out),
 * both held to test/store-contract.ts. Times are epoch milliseconds; ids are opaque strings.
 */
import type { PlatformError } from '../errors/platform-error.ts';
import type {
  BrokerHeartbeat,
  DeviceFilter,
  DevicePatch,
  DeviceRecord,
  JobDeviceState,
  JobDeviceStatus,
  NewUpdateJob,
  UpdateJob,
  UpdateJobFilter,
  UpdateJobState,
} from './registry-types.ts';

export { configurationStates, jobDeviceStates, updateJobStates } from './registry-types.ts';
export type {
  BrokerHeartbeat,
  ConfigurationState,
  DeviceFilter,
  DevicePatch,
  DeviceRecord,
  InstalledBundle,
  JobDeviceState,
  JobDeviceStatus,
  NewUpdateJob,
  UpdateJob,
  UpdateJobFilter,
  UpdateJobState,
} from './registry-types.ts';
import type { NewWebhook, Webhook, WebhookAttempt, WebhookPatch } from './webhook-types.ts';
export type { NewWebhook, Webhook, WebhookAttempt, WebhookPatch } from './webhook-types.ts';
import type { EnrollmentStoreMethods } from './enrollment-types.ts';
export type {
  DeviceAssignment,
  EnrollmentGroup,
  EnrollmentGroupPatch,
  EnrollmentStoreMethods,
  FactoryCertificateBlock,
  ManufacturerCa,
  NewEnrollmentGroup,
  NewManufacturerCa,
  NewProvisioningCode,
  ProvisioningCode,
} from './enrollment-types.ts';

export const requestStatuses = ['ENABLED', 'DISABLED'] as const;
export type RequestStatus = (typeof requestStatuses)[number];

/** Job status of a provision request, following Everyware Cloud's names. */
export const jobStatuses = [
  'CREATED',
  'STARTED',
  'RUNNING',
  'CONF_UPDATING',
  'CONF_UPDATED',
  'APPS_INSTALLING',
  'APPS_INSTALLED',
  'COMPLETED',
  'FAILED',
  'ABANDONED',
  'STOPPED',
] as const;
export type JobStatus = (typeof jobStatuses)[number];

export interface Account {
  readonly id: string;
  /** Unique, used in topics: $EDC/{name}/{clientId}/... */
  readonly name: string;
  /** Where provisioned devices go next; null = the platform's own account broker. */
  readonly brokerUrl: string | null;
  /** Template for generated device configurations; ${clientId}, ${account}, ${brokerUrl} are filled in. */
  readonly configurationTemplate: Record<string, unknown>;
  /** Bundles every device of the account gets when its request names none. */
  readonly defaultBundleIds: readonly string[];
  readonly createdOn: number;
  readonly modifiedOn: number;
  readonly version: number;
}

/** A hashed secret: see crypto/secret-hash.ts. */
export type SecretHash = string;

/**
 * What a device says about itself in its provision request (PROTOCOL.md §5: the metrics
 * device.model, device.serial, device.firmware), recorded for the operator. null = not sent.
 */
export interface DeviceFacts {
  readonly model: string | null;
  readonly serial: string | null;
  readonly firmware: string | null;
}

/** Device facts as a patch gives them: a fact absent or undefined was not sent (null). */
export type ReportedDeviceFacts = { readonly [Fact in keyof DeviceFacts]?: string | null };

export interface ProvisionRequest {
  readonly id: string;
  readonly accountId: string;
  /** Unique per account; at most one ENABLED request per clientId across all accounts. */
  readonly clientId: string;
  readonly username: string;
  readonly passwordHash: SecretHash;
  readonly activationKeyHash: SecretHash | null;
  readonly activatesOn: number;
  readonly expiresOn: number;
  readonly retryMaxAttempts: number;
  readonly retryCount: number;
  readonly overwriteIfDuplicate: boolean;
  readonly status: RequestStatus;
  readonly jobStatus: JobStatus;
  /** At most one configuration attachment. */
  readonly configurationId: string | null;
  /** At most nine application bundles. */
  readonly bundleIds: readonly string[];
  /**
   * Name of a category of the account (issue 15 §2), or null: the device inherits it. Its
   * configuration and bundles apply when the request names none.
   */
  readonly category: string | null;
  /** Free tags the device inherits, sorted, without repeats. */
  readonly tags: readonly string[];
  /** request.id of the provisioning attempt in progress or last answered. */
  readonly currentRequestId: string | null;
  /** Serial of the certificate issued for currentRequestId, until the device completes. */
  readonly certificateSerial: string | null;
  /** The device facts of the last provisioning attempt; all null before the first. */
  readonly device: DeviceFacts;
  readonly createdOn: number;
  readonly createdBy: string;
  readonly modifiedOn: number;
  readonly modifiedBy: string;
  /** Optimistic lock: every update must name the version it read. */
  readonly version: number;
}

export interface Configuration {
  readonly id: string;
  readonly accountId: string;
  readonly name: string;
  /** The content of the current version. */
  readonly content: Record<string, unknown>;
  /** 1 when created; each edit (updateConfigurationContent) makes the next, the old ones kept. Also the optimistic lock. */
  readonly version: number;
  readonly createdOn: number;
  /** When the current version was made. */
  readonly modifiedOn: number;
}

/** One version of a configuration's content, kept when a later one replaces it. */
export interface ConfigurationVersion {
  readonly configurationId: string;
  readonly version: number;
  readonly content: Record<string, unknown>;
  readonly createdOn: number;
  /** Who made it (the admin token's actor). */
  readonly createdBy: string;
}

/**
 * A category of devices in an account (issue 15 §2), in innovaphone's sense: requests and devices
 * name it; its configuration and bundles apply to a request that names none.
 */
export interface Category {
  readonly id: string;
  readonly accountId: string;
  /** Unique per account, never changed: what requests, devices and filters name. */
  readonly name: string;
  readonly description: string;
  readonly configurationId: string | null;
  readonly bundleIds: readonly string[];
  readonly createdOn: number;
  readonly modifiedOn: number;
  /** Optimistic lock. */
  readonly version: number;
}

export interface BundleMetadata {
  readonly id: string;
  readonly accountId: string;
  readonly name: string;
  readonly version: string;
  readonly size: number;
  /** Hex sha256 of the content; the content itself lives in the data directory. */
  readonly sha256: string;
  readonly createdOn: number;
}

export type CertificateStatus = 'VALID' | 'REVOKED';

export interface IssuedCertificate {
  /** Hex serial, lower case, no leading zeros stripped: exactly as in the certificate. */
  readonly serial: string;
  readonly accountId: string;
  readonly clientId: string;
  readonly provisionRequestId: string | null;
  readonly pem: string;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly status: CertificateStatus;
  readonly revokedOn: number | null;
  readonly revocationReason: string | null;
  readonly createdOn: number;
  /** CERT-V1 (PROTOCOL.md §13): the serial of the certificate this one renews; null when it renews nothing (provisioning). */
  readonly renewsSerial: string | null;
  /** CERT-V1: the renewal request.id this certificate answered (a repeat gets it again); null for provisioning. */
  readonly renewalRequestId: string | null;
  /**
   * When the renewal was settled, so nothing is left to do for it: the certificate it renews was
   * revoked and this one became the device's current certificate (first CONNECT with it, or the
   * grace period ended), or it was itself revoked first. null while pending, and when it renews nothing.
   */
  readonly renewalSettledOn: number | null;
}

export interface AuditEvent {
  /** Assigned by the store, increasing. */
  readonly id: string;
  readonly time: number;
  /** e.g. connect.refused, provision.replied, request.created */
  readonly type: string;
  readonly outcome: 'success' | 'failure';
  readonly actor: string;
  readonly accountId: string | null;
  readonly clientId: string | null;
  readonly provisionRequestId: string | null;
  /** Free-form, never a secret. */
  readonly detail: Record<string, unknown>;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly total: number;
  readonly offset: number;
  readonly limit: number;
}

export interface PageOptions {
  readonly offset?: number;
  /** Default 50, at most 1000. */
  readonly limit?: number;
}

export interface ProvisionRequestFilter extends PageOptions {
  readonly accountId?: string;
  readonly category?: string;
  readonly clientIds?: readonly string[];
  readonly statuses?: readonly RequestStatus[];
  readonly jobStatuses?: readonly JobStatus[];
  /** createdOn >= startDate */
  readonly startDate?: number;
  /** createdOn <= endDate */
  readonly endDate?: number;
}

export interface AuditFilter extends PageOptions {
  readonly accountId?: string;
  readonly clientId?: string;
  readonly provisionRequestId?: string;
  readonly type?: string;
  readonly startDate?: number;
  readonly endDate?: number;
}

/** Which audit events have expired, for ProvisionStore.deleteExpiredAudit (store/audit-retention.ts). */
export interface AuditExpiry {
  /** Events whose time is before this (epoch ms) have expired. Absent: none expires by age. */
  readonly before?: number;
  /**
   * Only the newest this many events are kept: an event whose id is at least this far below the
   * newest id has expired (ids are dense, the log losing only its oldest end). Absent: no bound.
   */
  readonly keepNewest?: number;
  /** At most this many events are deleted by one call, clamped to 1..1000: a bounded batch. */
  readonly limit: number;
  /**
   * Given the batch, oldest first, before it is deleted (to archive it). If it rejects, nothing
   * is deleted and the call rejects with its error.
   */
  readonly beforeDelete?: (events: readonly AuditEvent[]) => Promise<void>;
}

export interface CertificateFilter extends PageOptions {
  readonly accountId?: string;
  readonly clientId?: string;
  readonly status?: CertificateStatus;
}

export type NewAccount = Omit<Account, 'id' | 'createdOn' | 'modifiedOn' | 'version'>;
export type AccountPatch = Partial<Omit<Account, 'id' | 'createdOn' | 'modifiedOn' | 'version'>>;
export type NewProvisionRequest = Omit<
  ProvisionRequest,
  | 'id'
  | 'createdOn'
  | 'modifiedOn'
  | 'modifiedBy'
  | 'version'
  | 'retryCount'
  | 'jobStatus'
  | 'currentRequestId'
  | 'certificateSerial'
  | 'device'
  | 'category'
  | 'tags'
> & { readonly category?: string | null; readonly tags?: readonly string[] };
/**
 * `device` replaces all three facts at once (they are those of the last attempt): a fact the
 * patch leaves out becomes null, so a provision message's `device` can be passed as it is.
 */
export type ProvisionRequestPatch = Partial<Omit<ProvisionRequest, 'id' | 'accountId' | 'createdOn' | 'createdBy' | 'modifiedOn' | 'version' | 'device'>> & {
  readonly modifiedBy: string;
  readonly device?: ReportedDeviceFacts;
};
export type NewConfiguration = Omit<Configuration, 'id' | 'createdOn' | 'modifiedOn' | 'version'> & { readonly createdBy?: string };
export type NewCategory = Omit<Category, 'id' | 'createdOn' | 'modifiedOn' | 'version' | 'description' | 'configurationId' | 'bundleIds'> &
  Partial<Pick<Category, 'description' | 'configurationId' | 'bundleIds'>>;
export type CategoryPatch = Partial<Pick<Category, 'description' | 'configurationId' | 'bundleIds'>>;
export type NewBundle = Omit<BundleMetadata, 'id' | 'createdOn'>;
export type NewCertificate = Omit<
  IssuedCertificate,
  'status' | 'revokedOn' | 'revocationReason' | 'createdOn' | 'renewsSerial' | 'renewalRequestId' | 'renewalSettledOn'
> & { readonly renewsSerial?: string | null; readonly renewalRequestId?: string | null };
export type NewAuditEvent = Omit<AuditEvent, 'id' | 'time'> & { readonly time?: number };

/** Which accounts have a claim on a clientId (findClientIdHolders); account ids sorted, without repeats. */
export interface ClientIdHolders {
  /** Accounts with a provision request for the clientId, in any status. */
  readonly requestAccountIds: readonly string[];
  /** Accounts with a VALID certificate for the clientId. */
  readonly validCertificateAccountIds: readonly string[];
}

/** One item of createProvisionRequests: created, or refused as createProvisionRequest would refuse it. */
export type ProvisionRequestCreation = { readonly ok: true; readonly request: ProvisionRequest } | { readonly ok: false; readonly error: PlatformError };

export interface CreateProvisionRequestsOptions {
  /** The audit event of each created request (index: its position in the input), stored with it. */
  readonly auditEvent?: (request: ProvisionRequest, index: number) => NewAuditEvent;
}

/**
 * Errors: a store throws PlatformError with code NOT_FOUND, DUPLICATE or VERSION_CONFLICT
 * (errors/platform-error.ts) for those cases, STORE_UNAVAILABLE when the backend is gone.
 */
export interface ProvisionStore extends EnrollmentStoreMethods {
  readonly backend: 'sqlite' | 'redis';

  createAccount(account: NewAccount): Promise<Account>;
  getAccount(id: string): Promise<Account | null>;
  getAccountByName(name: string): Promise<Account | null>;
  listAccounts(page?: PageOptions): Promise<Page<Account>>;
  updateAccount(id: string, expectedVersion: number, patch: AccountPatch): Promise<Account>;
  /**
   * Refused (REQUEST_WRONG_STATE is not used here: DUPLICATE) while provision requests,
   * configurations, bundles, enrollment groups or provisioning codes (used ones too) belong to it.
   */
  deleteAccount(id: string): Promise<void>;

  /**
   * DUPLICATE when the account already has a request for the clientId, or when another
   * ENABLED request for the clientId exists in any account (they would share provision topics).
   */
  createProvisionRequest(request: NewProvisionRequest): Promise<ProvisionRequest>;
  /**
   * Creates many requests as createProvisionRequest would one after the other, in input order
   * (a later item sees the earlier ones): each is created or refused on its own, with the same
   * errors, answered in input order. One write for the lot (SQLite: one transaction, Redis: one
   * script per chunk), each created request together with its audit event. When a write fails
   * as a whole (STORE_UNAVAILABLE), nothing of it is kept: SQLite throws, Redis answers the items
   * of that chunk with the error (earlier chunks stay created).
   */
  createProvisionRequests(requests: readonly NewProvisionRequest[], options?: CreateProvisionRequestsOptions): Promise<ProvisionRequestCreation[]>;
  getProvisionRequest(id: string): Promise<ProvisionRequest | null>;
  /** The one ENABLED request for this clientId, if any: what the provision broker checks. */
  findEnabledProvisionRequest(clientId: string): Promise<ProvisionRequest | null>;
  listProvisionRequests(filter?: ProvisionRequestFilter): Promise<Page<ProvisionRequest>>;
  /**
   * For each of the clientIds, across all accounts: the accounts with a provision request for it
   * and those with a VALID certificate for it. A clientId with neither is absent from the map.
   */
  findClientIdHolders(clientIds: readonly string[]): Promise<ReadonlyMap<string, ClientIdHolders>>;
  /**
   * Compare-and-set on `version`: VERSION_CONFLICT if the stored version differs, so of two
   * concurrent updaters exactly one wins. Enabling a request whose clientId is ENABLED elsewhere
   * is DUPLICATE.
   */
  updateProvisionRequest(id: string, expectedVersion: number, patch: ProvisionRequestPatch): Promise<ProvisionRequest>;
  deleteProvisionRequest(id: string): Promise<void>;
  /** Replaces the account's request for the same clientId (overwriteIfDuplicate) in one atomic step. */
  replaceProvisionRequest(existingId: string, request: NewProvisionRequest): Promise<ProvisionRequest>;

  /** Version 1; it is kept as the configuration's first ConfigurationVersion (createdBy defaults to ''). */
  createConfiguration(configuration: NewConfiguration): Promise<Configuration>;
  getConfiguration(id: string): Promise<Configuration | null>;
  listConfigurations(accountId: string, page?: PageOptions): Promise<Page<Configuration>>;
  /** Deletes it and all its versions. */
  deleteConfiguration(id: string): Promise<void>;
  /**
   * A new version with this content (version + 1, modifiedOn now), the current one kept in the
   * history: VERSION_CONFLICT when expectedVersion is not the stored version, NOT_FOUND when absent.
   */
  updateConfigurationContent(id: string, expectedVersion: number, content: Record<string, unknown>, createdBy: string): Promise<Configuration>;
  /** Every version, the newest first. NOT_FOUND when the configuration is absent. */
  listConfigurationVersions(id: string, page?: PageOptions): Promise<Page<ConfigurationVersion>>;
  getConfigurationVersion(id: string, version: number): Promise<ConfigurationVersion | null>;

  /** DUPLICATE when the account has a category of that name. */
  createCategory(category: NewCategory): Promise<Category>;
  getCategory(id: string): Promise<Category | null>;
  getCategoryByName(accountId: string, name: string): Promise<Category | null>;
  /** Ordered by name. */
  listCategories(accountId: string, page?: PageOptions): Promise<Page<Category>>;
  /** Compare-and-set on version as updateAccount. */
  updateCategory(id: string, expectedVersion: number, patch: CategoryPatch): Promise<Category>;
  /** NOT_FOUND when absent. (Whether it is still in use is the API's check.) */
  deleteCategory(id: string): Promise<void>;

  createBundle(bundle: NewBundle): Promise<BundleMetadata>;
  getBundle(id: string): Promise<BundleMetadata | null>;
  listBundles(accountId: string, page?: PageOptions): Promise<Page<BundleMetadata>>;
  deleteBundle(id: string): Promise<void>;

  /**
   * DUPLICATE when the serial exists, or when a certificate of the same account and clientId
   * already answers the same renewalRequestId (of processes recording one at once, one wins).
   */
  recordCertificate(certificate: NewCertificate): Promise<IssuedCertificate>;
  getCertificate(serial: string): Promise<IssuedCertificate | null>;
  listCertificates(filter?: CertificateFilter): Promise<Page<IssuedCertificate>>;
  /** Idempotent: revoking a revoked certificate keeps its first revocation time. */
  revokeCertificate(serial: string, reason: string): Promise<IssuedCertificate>;
  /** All revoked serials, for CRLs and the account broker's check. */
  listRevokedCertificates(): Promise<readonly IssuedCertificate[]>;
  /** Every certificate issued for the clientId, in any account and status, oldest first (a device holds a few: one per renewal). */
  listClientCertificates(clientId: string): Promise<readonly IssuedCertificate[]>;
  /**
   * Sets renewalSettledOn of a renewal (a certificate with renewsSerial) that has none yet:
   * true when this call did, false when it was settled already or renews nothing. NOT_FOUND when absent.
   */
  settleRenewal(serial: string): Promise<boolean>;
  /** Renewals not yet settled whose createdOn is before `createdBefore`, oldest first, at most `limit` (clamped to 1..1000). */
  listUnsettledRenewals(createdBefore: number, limit: number): Promise<readonly IssuedCertificate[]>;

  /**
   * Creates the device record for (accountId, clientId) with the patch over empty defaults
   * (online false, everything else null), or applies the patch to the existing one. Atomic.
   */
  upsertDevice(accountId: string, clientId: string, patch: DevicePatch): Promise<DeviceRecord>;
  /**
   * upsertDevice for an event that happened at `eventOn` (a birth as it was received): nothing is
   * written, and null answered, when the stored record is offline with lastSeenOn at or after
   * `eventOn`: the device's disconnect was recorded after the event, which is stale. Atomic.
   */
  upsertDeviceUnlessOfflineSince(accountId: string, clientId: string, patch: DevicePatch, eventOn: number): Promise<DeviceRecord | null>;
  getDevice(accountId: string, clientId: string): Promise<DeviceRecord | null>;
  getDeviceById(id: string): Promise<DeviceRecord | null>;
  /** Ordered by accountId, then clientId. */
  listDevices(filter?: DeviceFilter): Promise<Page<DeviceRecord>>;
  deleteDevice(accountId: string, clientId: string): Promise<void>;
  /**
   * Sets online false (and lastSeenOn to `now`) on every device that is online with this brokerId,
   * atomically per device: a device that meanwhile came online on another broker is left alone.
   * Answers how many it changed. For a broker process that died without recording its disconnects.
   */
  markBrokerDevicesOffline(brokerId: string, now: number): Promise<number>;
  /**
   * A device's connection to broker process `brokerId` ended: online false and lastSeenOn `now`,
   * in one atomic step, unless the record shows the device online on another broker process (it
   * connected there before this disconnect was seen; that connection's record stands). True when
   * it changed the record; false when it left it alone or there is none.
   */
  markDeviceOffline(accountId: string, clientId: string, brokerId: string, now: number): Promise<boolean>;

  createUpdateJob(job: NewUpdateJob): Promise<UpdateJob>;
  getUpdateJob(id: string): Promise<UpdateJob | null>;
  /** Newest first. */
  listUpdateJobs(filter?: UpdateJobFilter): Promise<Page<UpdateJob>>;
  /** Compare-and-set on version; only the state changes. */
  updateUpdateJobState(id: string, expectedVersion: number, state: UpdateJobState): Promise<UpdateJob>;
  /**
   * Creates or changes one device's status in a job (atomic per device). With `onlyFrom`, the
   * status changes only when the stored state is one of those (or absent and 'PENDING' is among
   * them): answers null when it did not. NOT_FOUND when the job is absent.
   */
  setJobDeviceStatus(
    jobId: string,
    accountId: string,
    clientId: string,
    status: { readonly state: JobDeviceState; readonly error?: string | null },
    onlyFrom?: readonly JobDeviceState[],
  ): Promise<JobDeviceStatus | null>;
  getJobDeviceStatus(jobId: string, clientId: string): Promise<JobDeviceStatus | null>;
  /** Ordered by clientId; optionally only those in one state. */
  listJobDevices(jobId: string, filter?: PageOptions & { readonly state?: JobDeviceState }): Promise<Page<JobDeviceStatus>>;
  /** How many devices of the job are in each state (every state present, 0 when none). */
  countJobDevices(jobId: string): Promise<Readonly<Record<JobDeviceState, number>>>;
  /** The jobs that touched a device, newest job first. */
  listDeviceJobs(accountId: string, clientId: string): Promise<readonly JobDeviceStatus[]>;

  /** Records (or moves forward) a broker process's heartbeat. */
  recordBrokerHeartbeat(brokerId: string, seenOn: number): Promise<void>;
  /** Every broker heartbeat, ordered by brokerId. */
  listBrokerHeartbeats(): Promise<readonly BrokerHeartbeat[]>;
  /** Absent: nothing to do. */
  deleteBrokerHeartbeat(brokerId: string): Promise<void>;

  appendAudit(event: NewAuditEvent): Promise<AuditEvent>;
  listAudit(filter?: AuditFilter): Promise<Page<AuditEvent>>;
  /**
   * Deletes expired events from the oldest end of the audit log: in id order, up to the first
   * event that has not expired, at most `expiry.limit`. So the log only ever loses its oldest
   * events and what is kept is an unbroken run of ids, however clocks or explicit times disagree
   * with id order. Answers how many this call deleted; calls from several processes at once are
   * safe (each event is deleted once, though each may see it in beforeDelete).
   */
  deleteExpiredAudit(expiry: AuditExpiry): Promise<number>;

  /** A webhook whose cursor starts at the newest audit event: it is told of what happens from now on. */
  createWebhook(webhook: NewWebhook): Promise<Webhook>;
  getWebhook(id: string): Promise<Webhook | null>;
  /** Every webhook, oldest first (a platform has few). */
  listWebhooks(): Promise<readonly Webhook[]>;
  /** NOT_FOUND when absent. Setting `cursor` rewinds (or forwards) delivery: a redelivery. */
  updateWebhook(id: string, patch: WebhookPatch): Promise<Webhook>;
  /** Also its attempts and lease. Absent: nothing to do. */
  deleteWebhook(id: string): Promise<void>;
  /**
   * Compare-and-set of the cursor after a delivery: true when it was `expected` and is now `cursor`;
   * false when it had moved (a redelivery rewound it, or the webhook is gone).
   */
  moveWebhookCursor(id: string, expected: string, cursor: string): Promise<boolean>;
  /**
   * The delivery lease of a webhook, so one process of a cluster delivers it at a time: true when
   * `holder` has it until `now + ttlMs` (it was free, expired, or already this holder's).
   */
  claimWebhookLease(id: string, holder: string, now: number, ttlMs: number): Promise<boolean>;
  /** Keeps the newest keptWebhookAttempts attempts of the webhook. */
  recordWebhookAttempt(attempt: WebhookAttempt): Promise<void>;
  /** Newest first, at most `limit` (clamped to 1..keptWebhookAttempts). */
  listWebhookAttempts(webhookId: string, limit: number): Promise<readonly WebhookAttempt[]>;
  /** Audit events with an id above `afterId`, in id order, at most `limit` (clamped to 1..1000): what a webhook delivers next. */
  listAuditAfter(afterId: string, limit: number): Promise<readonly AuditEvent[]>;

  /** Small key/value settings of the platform (e.g. the admin token hash). */
  getSetting(key: string): Promise<string | null>;
  /** Sets only if absent; returns the value now stored. */
  setSettingIfAbsent(key: string, value: string): Promise<string>;
  /** Removes a setting (absent: nothing to do); its value does not stay behind in the backend's files. */
  deleteSetting(key: string): Promise<void>;
  /**
   * Every setting whose key starts with `prefix`, in key order. For the few records kept as
   * settings that an operator lists (API tokens, api/api-tokens.ts); not meant for many keys.
   */
  listSettings(prefix: string): Promise<readonly SettingEntry[]>;
  /**
   * Compare-and-set: replaces the value only while it is still `expected`, atomically; answers
   * whether it did. So a change made from a stale read (a token's last use) cannot undo one
   * made meanwhile by another process (its revocation).
   */
  replaceSetting(key: string, expected: string, value: string): Promise<boolean>;

  /**
   * Returns once the writes this process made so far are held by the configured number of Redis
   * replicas (WAIT, PROVISIO_REDIS_WAIT_REPLICAS): called before a reply tells a device what those
   * writes say, so that a failover to a replica cannot take back what the device was told
   * (replication is asynchronous). STORE_UNAVAILABLE when fewer acknowledge in time. SQLite, or
   * no replicas asked for: at once.
   */
  awaitReplication(): Promise<void>;

  close(): Promise<void>;
}

/** One setting as listSettings answers it. */
export interface SettingEntry {
  readonly key: string;
  readonly value: string;
}
