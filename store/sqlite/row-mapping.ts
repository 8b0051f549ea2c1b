import type {
  Account,
  AuditEvent,
  BundleMetadata,
  CertificateStatus,
  Configuration,
  ConfigurationVersion,
  IssuedCertificate,
  JobStatus,
  ProvisionRequest,
  RequestStatus,
} from '../types.ts';

/**
 * Rows as SQLite stores them (snake_case, JSON text, 0/1 booleans) and the mapping to and from
 * the domain types. Row objects double as named statement parameters (@column).
 */

export interface AccountRow {
  id: string;
  name: string;
  broker_url: string | null;
  configuration_template: string;
  default_bundle_ids: string;
  created_on: number;
  modified_on: number;
  version: number;
}

export function accountFromRow(row: AccountRow): Account {
  return {
    id: row.id,
    name: row.name,
    brokerUrl: row.broker_url,
    configurationTemplate: JSON.parse(row.configuration_template) as Record<string, unknown>,
    defaultBundleIds: JSON.parse(row.default_bundle_ids) as string[],
    createdOn: row.created_on,
    modifiedOn: row.modified_on,
    version: row.version,
  };
}

export function accountToRow(account: Account): AccountRow {
  return {
    id: account.id,
    name: account.name,
    broker_url: account.brokerUrl,
    configuration_template: JSON.stringify(account.configurationTemplate),
    default_bundle_ids: JSON.stringify(account.defaultBundleIds),
    created_on: account.createdOn,
    modified_on: account.modifiedOn,
    version: account.version,
  };
}

export interface ProvisionRequestRow {
  id: string;
  account_id: string;
  client_id: string;
  username: string;
  password_hash: string;
  activation_key_hash: string | null;
  activates_on: number;
  expires_on: number;
  retry_max_attempts: number;
  retry_count: number;
  overwrite_if_duplicate: number;
  status: string;
  job_status: string;
  configuration_id: string | null;
  bundle_ids: string;
  category: string | null;
  tags: string;
  current_request_id: string | null;
  certificate_serial: string | null;
  device_model: string | null;
  device_serial: string | null;
  device_firmware: string | null;
  created_on: number;
  created_by: string;
  modified_on: number;
  modified_by: string;
  version: number;
}

export function provisionRequestFromRow(row: ProvisionRequestRow): ProvisionRequest {
  return {
    id: row.id,
    accountId: row.account_id,
    clientId: row.client_id,
    username: row.username,
    passwordHash: row.password_hash,
    activationKeyHash: row.activation_key_hash,
    activatesOn: row.activates_on,
    expiresOn: row.expires_on,
    retryMaxAttempts: row.retry_max_attempts,
    retryCount: row.retry_count,
    overwriteIfDuplicate: row.overwrite_if_duplicate === 1,
    status: row.status as RequestStatus,
    jobStatus: row.job_status as JobStatus,
    configurationId: row.configuration_id,
    bundleIds: JSON.parse(row.bundle_ids) as string[],
    category: row.category,
    tags: JSON.parse(row.tags) as string[],
    currentRequestId: row.current_request_id,
    certificateSerial: row.certificate_serial,
    device: { model: row.device_model, serial: row.device_serial, firmware: row.device_firmware },
    createdOn: row.created_on,
    createdBy: row.created_by,
    modifiedOn: row.modified_on,
    modifiedBy: row.modified_by,
    version: row.version,
  };
}

export function provisionRequestToRow(request: ProvisionRequest): ProvisionRequestRow {
  return {
    id: request.id,
    account_id: request.accountId,
    client_id: request.clientId,
    username: request.username,
    password_hash: request.passwordHash,
    activation_key_hash: request.activationKeyHash,
    activates_on: request.activatesOn,
    expires_on: request.expiresOn,
    retry_max_attempts: request.retryMaxAttempts,
    retry_count: request.retryCount,
    overwrite_if_duplicate: request.overwriteIfDuplicate ? 1 : 0,
    status: request.status,
    job_status: request.jobStatus,
    configuration_id: request.configurationId,
    bundle_ids: JSON.stringify(request.bundleIds),
    category: request.category,
    tags: JSON.stringify(request.tags),
    current_request_id: request.currentRequestId,
    certificate_serial: request.certificateSerial,
    device_model: request.device.model,
    device_serial: request.device.serial,
    device_firmware: request.device.firmware,
    created_on: request.createdOn,
    created_by: request.createdBy,
    modified_on: request.modifiedOn,
    modified_by: request.modifiedBy,
    version: request.version,
  };
}

export interface ConfigurationRow {
  id: string;
  account_id: string;
  name: string;
  content: string;
  version: number;
  created_on: number;
  modified_on: number;
}

export function configurationFromRow(row: ConfigurationRow): Configuration {
  return {
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    content: JSON.parse(row.content) as Record<string, unknown>,
    version: row.version,
    createdOn: row.created_on,
    modifiedOn: row.modified_on,
  };
}

export function configurationToRow(configuration: Configuration): ConfigurationRow {
  return {
    id: configuration.id,
    account_id: configuration.accountId,
    name: configuration.name,
    content: JSON.stringify(configuration.content),
    version: configuration.version,
    created_on: configuration.createdOn,
    modified_on: configuration.modifiedOn,
  };
}

export interface ConfigurationVersionRow {
  configuration_id: string;
  version: number;
  content: string;
  created_on: number;
  created_by: string;
}

export function configurationVersionFromRow(row: ConfigurationVersionRow): ConfigurationVersion {
  return {
    configurationId: row.configuration_id,
    version: row.version,
    content: JSON.parse(row.content) as Record<string, unknown>,
    createdOn: row.created_on,
    createdBy: row.created_by,
  };
}

export function configurationVersionToRow(version: ConfigurationVersion): ConfigurationVersionRow {
  return {
    configuration_id: version.configurationId,
    version: version.version,
    content: JSON.stringify(version.content),
    created_on: version.createdOn,
    created_by: version.createdBy,
  };
}

export interface BundleRow {
  id: string;
  account_id: string;
  name: string;
  version: string;
  size: number;
  sha256: string;
  created_on: number;
}

export function bundleFromRow(row: BundleRow): BundleMetadata {
  return {
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    version: row.version,
    size: row.size,
    sha256: row.sha256,
    createdOn: row.created_on,
  };
}

export function bundleToRow(bundle: BundleMetadata): BundleRow {
  return {
    id: bundle.id,
    account_id: bundle.accountId,
    name: bundle.name,
    version: bundle.version,
    size: bundle.size,
    sha256: bundle.sha256,
    created_on: bundle.createdOn,
  };
}

export interface CertificateRow {
  serial: string;
  account_id: string;
  client_id: string;
  provision_request_id: string | null;
  pem: string;
  not_before: number;
  not_after: number;
  status: string;
  revoked_on: number | null;
  revocation_reason: string | null;
  created_on: number;
  renews_serial: string | null;
  renewal_request_id: string | null;
  renewal_settled_on: number | null;
}

export function certificateFromRow(row: CertificateRow): IssuedCertificate {
  return {
    serial: row.serial,
    accountId: row.account_id,
    clientId: row.client_id,
    provisionRequestId: row.provision_request_id,
    pem: row.pem,
    notBefore: row.not_before,
    notAfter: row.not_after,
    status: row.status as CertificateStatus,
    revokedOn: row.revoked_on,
    revocationReason: row.revocation_reason,
    createdOn: row.created_on,
    renewsSerial: row.renews_serial,
    renewalRequestId: row.renewal_request_id,
    renewalSettledOn: row.renewal_settled_on,
  };
}

export function certificateToRow(certificate: IssuedCertificate): CertificateRow {
  return {
    serial: certificate.serial,
    account_id: certificate.accountId,
    client_id: certificate.clientId,
    provision_request_id: certificate.provisionRequestId,
    pem: certificate.pem,
    not_before: certificate.notBefore,
    not_after: certificate.notAfter,
    status: certificate.status,
    revoked_on: certificate.revokedOn,
    revocation_reason: certificate.revocationReason,
    created_on: certificate.createdOn,
    renews_serial: certificate.renewsSerial,
    renewal_request_id: certificate.renewalRequestId,
    renewal_settled_on: certificate.renewalSettledOn,
  };
}

export interface AuditEventRow {
  id: number;
  time: number;
  type: string;
  outcome: string;
  actor: string;
  account_id: string | null;
  client_id: string | null;
  provision_request_id: string | null;
  detail: string;
}

export function auditEventFromRow(row: AuditEventRow): AuditEvent {
  return {
    id: String(row.id),
    time: row.time,
    type: row.type,
    outcome: row.outcome as AuditEvent['outcome'],
    actor: row.actor,
    accountId: row.account_id,
    clientId: row.client_id,
    provisionRequestId: row.provision_request_id,
    detail: JSON.parse(row.detail) as Record<string, unknown>,
  };
}

export function auditEventToRow(event: Omit<AuditEvent, 'id'>): Omit<AuditEventRow, 'id'> {
  return {
    time: event.time,
    type: event.type,
    outcome: event.outcome,
    actor: event.actor,
    account_id: event.accountId,
    client_id: event.clientId,
    provision_request_id: event.provisionRequestId,
    detail: JSON.stringify(event.detail),
  };
}
