/**
 * Every Redis key the store uses, under one prefix so several platforms can share a Redis.
 * Records are JSON strings; sorted sets scored by createdOn (members ordered by id within a
 * score, as SQLite orders by createdOn, id) serve listing; plain string keys hold the
 * uniqueness rules. Record ids are UUIDs (no ':'), so composite keys cannot collide.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  account(id: string): string {
    return `${this.prefix}account:${id}`;
  }
  /** name -> account id: unique account names. */
  accountName(name: string): string {
    return `${this.prefix}account-name:${name}`;
  }
  accounts(): string {
    return `${this.prefix}accounts`;
  }

  request(id: string): string {
    return `${this.prefix}request:${id}`;
  }
  requests(): string {
    return `${this.prefix}requests`;
  }
  accountRequests(accountId: string): string {
    return `${this.prefix}account-requests:${accountId}`;
  }
  /** (accountId, clientId) -> request id: one request per clientId in an account. */
  requestOfClient(accountId: string, clientId: string): string {
    return `${this.prefix}request-of-client:${accountId}:${clientId}`;
  }
  /** clientId -> request id: at most one ENABLED request per clientId across accounts. */
  enabledRequest(clientId: string): string {
    return `${this.prefix}enabled-request:${clientId}`;
  }

  /**
   * clientId -> the accounts that ever had a request for it: a set that only grows. Whether one
   * still has is requestOfClient; findClientIdHolders reads both.
   */
  clientAccounts(clientId: string): string {
    return `${this.prefix}client-accounts:${clientId}`;
  }

  configuration(id: string): string {
    return `${this.prefix}configuration:${id}`;
  }
  accountConfigurations(accountId: string): string {
    return `${this.prefix}account-configurations:${accountId}`;
  }
  /**
   * The configuration's versions: a sorted set of ConfigurationVersion JSONs scored by version.
   * A configuration stored before versions were kept has none (its content is version 1).
   */
  configurationVersions(id: string): string {
    return `${this.prefix}configuration-versions:${id}`;
  }
  bundle(id: string): string {
    return `${this.prefix}bundle:${id}`;
  }
  accountBundles(accountId: string): string {
    return `${this.prefix}account-bundles:${accountId}`;
  }

  certificate(serial: string): string {
    return `${this.prefix}certificate:${serial}`;
  }
  certificates(): string {
    return `${this.prefix}certificates`;
  }
  accountCertificates(accountId: string): string {
    return `${this.prefix}account-certificates:${accountId}`;
  }
  /** clientId -> serials of its certificates (certificates are never deleted). */
  clientCertificates(clientId: string): string {
    return `${this.prefix}client-certificates:${clientId}`;
  }
  /** Renewals not yet settled (CERT-V1), scored by createdOn: what the grace sweep reads. */
  unsettledRenewals(): string {
    return `${this.prefix}unsettled-renewals`;
  }
  /**
   * (accountId, renewal request.id, clientId) -> the serial answering it: one certificate per
   * CERT-V1 request.id of a device, whichever process records first. A request.id has no ':'
   * (PROTOCOL.md §13), so the clientId is everything after the third ':'.
   */
  renewalRequest(accountId: string, requestId: string, clientId: string): string {
    return `${this.prefix}renewal-request:${accountId}:${requestId}:${clientId}`;
  }
  /** Scored by revokedOn. */
  revokedCertificates(): string {
    return `${this.prefix}revoked-certificates`;
  }

  /** Device record JSON; account ids are UUIDs (no ':'), so the clientId is everything after the second ':'. */
  device(accountId: string, clientId: string): string {
    return `${this.prefix}device:${accountId}:${clientId}`;
  }
  /**
   * Every device, members `{accountId}\0{clientId}` all scored 0, so the set orders them by
   * accountId, then clientId, bytewise as SQLite does (NUL sorts before every other byte, so
   * a shorter accountId comes before any it is a prefix of; MQTT clientIds never hold NUL).
   */
  devices(): string {
    return `${this.prefix}devices`;
  }
  /** A sorted set of the account's clientIds, all scored 0: bytewise clientId order. */
  accountDevices(accountId: string): string {
    return `${this.prefix}account-devices:${accountId}`;
  }

  /** Device id -> devices member (`{accountId}\0{clientId}`): getDeviceById. */
  deviceId(id: string): string {
    return `${this.prefix}device-id:${id}`;
  }
  /** A set of the devices members whose record names this brokerId: markBrokerDevicesOffline reads it instead of every device. */
  brokerDevices(brokerId: string): string {
    return `${this.prefix}broker-devices:${brokerId}`;
  }
  /** A sorted set of the clientIds of the account's devices in a category, all scored 0 (as accountDevices). */
  categoryDevices(accountId: string, category: string): string {
    return `${this.prefix}category-devices:${accountId}:${category}`;
  }

  category(id: string): string {
    return `${this.prefix}category:${id}`;
  }
  /** (accountId, name) -> category id: unique names per account. */
  categoryName(accountId: string, name: string): string {
    return `${this.prefix}category-name:${accountId}:${name}`;
  }
  /** Members `{name}\0{id}`, all scored 0: the account's categories in bytewise name order. */
  accountCategories(accountId: string): string {
    return `${this.prefix}account-categories:${accountId}`;
  }

  updateJob(id: string): string {
    return `${this.prefix}update-job:${id}`;
  }
  /** Every update job, scored by createdOn (read newest first). */
  updateJobs(): string {
    return `${this.prefix}update-jobs`;
  }
  accountUpdateJobs(accountId: string): string {
    return `${this.prefix}account-update-jobs:${accountId}`;
  }
  /** Hash clientId -> JobDeviceStatus JSON: where each device stands in the job. */
  jobDeviceStatuses(jobId: string): string {
    return `${this.prefix}job-device-statuses:${jobId}`;
  }
  /** The job's clientIds, all scored 0 (bytewise order). */
  jobDevices(jobId: string): string {
    return `${this.prefix}job-devices:${jobId}`;
  }
  /** The job's clientIds in one state, all scored 0: listing and counting by state. */
  jobDevicesInState(jobId: string, state: string): string {
    return `${this.prefix}job-devices-in-state:${jobId}:${state}`;
  }
  /** The ids of the jobs that touched a device, scored by the job's createdOn. */
  deviceJobs(accountId: string, clientId: string): string {
    return `${this.prefix}device-jobs:${accountId}:${clientId}`;
  }

  /** Hash brokerId -> seenOn of its last heartbeat. */
  brokerHeartbeats(): string {
    return `${this.prefix}broker-heartbeats`;
  }

  /** INCR counter giving audit ids. */
  auditSequence(): string {
    return `${this.prefix}audit-sequence`;
  }
  /** Hash id -> event JSON (without its id). */
  auditEvents(): string {
    return `${this.prefix}audit-events`;
  }
  /** Sorted set of audit ids scored by id. */
  auditIds(): string {
    return `${this.prefix}audit-ids`;
  }

  settings(): string {
    return `${this.prefix}settings`;
  }

  /** Hash webhook id -> webhook JSON (cursor included). */
  webhooks(): string {
    return `${this.prefix}webhooks`;
  }
  /** The process delivering a webhook (SET … PX): one at a time in a cluster. */
  webhookLease(id: string): string {
    return `${this.prefix}webhook-lease:${id}`;
  }
  /** List of a webhook's attempts as JSON, newest first, trimmed. */
  webhookAttempts(id: string): string {
    return `${this.prefix}webhook-attempts:${id}`;
  }

  /** Manufacturer CA record JSON (issue 18). */
  manufacturerCa(id: string): string {
    return `${this.prefix}manufacturer-ca:${id}`;
  }
  /** Every manufacturer CA, scored by createdOn. */
  manufacturerCas(): string {
    return `${this.prefix}manufacturer-cas`;
  }
  /** name -> manufacturer CA id: unique names. */
  manufacturerCaName(name: string): string {
    return `${this.prefix}manufacturer-ca-name:${name}`;
  }
  /** SHA-256 fingerprint -> manufacturer CA id: one CA per certificate. */
  manufacturerCaFingerprint(fingerprintSha256: string): string {
    return `${this.prefix}manufacturer-ca-fingerprint:${fingerprintSha256}`;
  }
  /** The ids of the enrollment groups on a CA, scored by createdOn: what a factory CONNECT reads, and what keeps the CA. */
  manufacturerCaEnrollmentGroups(manufacturerCaId: string): string {
    return `${this.prefix}manufacturer-ca-enrollment-groups:${manufacturerCaId}`;
  }
  /** Hash serial -> FactoryCertificateBlock JSON: the blocked factory certificates of a CA. */
  factoryCertificateBlocks(manufacturerCaId: string): string {
    return `${this.prefix}factory-certificate-blocks:${manufacturerCaId}`;
  }
  /** The blocked serials of a CA, scored by blockedOn (read newest first). */
  factoryCertificateBlockTimes(manufacturerCaId: string): string {
    return `${this.prefix}factory-certificate-block-times:${manufacturerCaId}`;
  }

  enrollmentGroup(id: string): string {
    return `${this.prefix}enrollment-group:${id}`;
  }
  /** Every enrollment group, scored by createdOn. */
  enrollmentGroups(): string {
    return `${this.prefix}enrollment-groups`;
  }
  /** The account's enrollment groups, scored by createdOn; they keep the account. */
  accountEnrollmentGroups(accountId: string): string {
    return `${this.prefix}account-enrollment-groups:${accountId}`;
  }
  /** (accountId, name) -> enrollment group id: unique names per account. */
  enrollmentGroupName(accountId: string, name: string): string {
    return `${this.prefix}enrollment-group-name:${accountId}:${name}`;
  }

  provisioningCode(id: string): string {
    return `${this.prefix}provisioning-code:${id}`;
  }
  /** Every provisioning code, scored by createdOn. */
  provisioningCodes(): string {
    return `${this.prefix}provisioning-codes`;
  }
  /** The account's provisioning codes, scored by createdOn; they keep the account. */
  accountProvisioningCodes(accountId: string): string {
    return `${this.prefix}account-provisioning-codes:${accountId}`;
  }
  /** The PENDING codes, scored by expiresOn: what the sweep of expired codes reads. */
  pendingProvisioningCodes(): string {
    return `${this.prefix}pending-provisioning-codes`;
  }
  /** Code hash -> provisioning code id, while the code is PENDING: a CONNECT finds its code by it. */
  provisioningCodeHash(codeHash: string): string {
    return `${this.prefix}provisioning-code-hash:${codeHash}`;
  }

  /** Device assignment JSON by the factory certificate's CN (everything after the first ':'). */
  deviceAssignment(clientId: string): string {
    return `${this.prefix}device-assignment:${clientId}`;
  }
  /** The assigned clientIds, scored by modifiedOn. */
  deviceAssignments(): string {
    return `${this.prefix}device-assignments`;
  }
}
