import type {
  BrokerHeartbeat,
  Category,
  ConfigurationState,
  DeviceRecord,
  InstalledBundle,
  JobDeviceState,
  JobDeviceStatus,
  UpdateJob,
  UpdateJobState,
} from '../types.ts';

/**
 * Rows of the device registry (issue 15) as SQLite stores them, and the mapping to and from the
 * domain types: devices, their categories, update jobs with each device's place in them, broker
 * heartbeats. As in row-mapping.ts: snake_case, JSON text for lists, 0/1 booleans, and row
 * objects double as named statement parameters (@column).
 */

export interface DeviceRow {
  id: string;
  account_id: string;
  client_id: string;
  online: number;
  broker_id: string | null;
  category: string | null;
  tags: string;
  model: string | null;
  serial: string | null;
  firmware: string | null;
  certificate_serial: string | null;
  certificate_not_after: number | null;
  configuration_id: string | null;
  configuration_version: number | null;
  expected_configuration_hash: string | null;
  reported_configuration_hash: string | null;
  configuration_state: string | null;
  configuration_error: string | null;
  bundles: string;
  trusted_roots: string;
  provisioned_on: number | null;
  last_birth_on: number | null;
  last_seen_on: number | null;
  modified_on: number;
}

export function deviceFromRow(row: DeviceRow): DeviceRecord {
  return {
    id: row.id,
    accountId: row.account_id,
    clientId: row.client_id,
    online: row.online === 1,
    brokerId: row.broker_id,
    category: row.category,
    tags: JSON.parse(row.tags) as string[],
    model: row.model,
    serial: row.serial,
    firmware: row.firmware,
    certificateSerial: row.certificate_serial,
    certificateNotAfter: row.certificate_not_after,
    configurationId: row.configuration_id,
    configurationVersion: row.configuration_version,
    expectedConfigurationHash: row.expected_configuration_hash,
    reportedConfigurationHash: row.reported_configuration_hash,
    configurationState: row.configuration_state as ConfigurationState | null,
    configurationError: row.configuration_error,
    bundles: JSON.parse(row.bundles) as InstalledBundle[],
    trustedRoots: JSON.parse(row.trusted_roots) as string[],
    provisionedOn: row.provisioned_on,
    lastBirthOn: row.last_birth_on,
    lastSeenOn: row.last_seen_on,
    modifiedOn: row.modified_on,
  };
}

export function deviceToRow(device: DeviceRecord): DeviceRow {
  return {
    id: device.id,
    account_id: device.accountId,
    client_id: device.clientId,
    online: device.online ? 1 : 0,
    broker_id: device.brokerId,
    category: device.category,
    tags: JSON.stringify(device.tags),
    model: device.model,
    serial: device.serial,
    firmware: device.firmware,
    certificate_serial: device.certificateSerial,
    certificate_not_after: device.certificateNotAfter,
    configuration_id: device.configurationId,
    configuration_version: device.configurationVersion,
    expected_configuration_hash: device.expectedConfigurationHash,
    reported_configuration_hash: device.reportedConfigurationHash,
    configuration_state: device.configurationState,
    configuration_error: device.configurationError,
    bundles: JSON.stringify(device.bundles),
    trusted_roots: JSON.stringify(device.trustedRoots),
    provisioned_on: device.provisionedOn,
    last_birth_on: device.lastBirthOn,
    last_seen_on: device.lastSeenOn,
    modified_on: device.modifiedOn,
  };
}

export interface CategoryRow {
  id: string;
  account_id: string;
  name: string;
  description: string;
  configuration_id: string | null;
  bundle_ids: string;
  created_on: number;
  modified_on: number;
  version: number;
}

export function categoryFromRow(row: CategoryRow): Category {
  return {
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    description: row.description,
    configurationId: row.configuration_id,
    bundleIds: JSON.parse(row.bundle_ids) as string[],
    createdOn: row.created_on,
    modifiedOn: row.modified_on,
    version: row.version,
  };
}

export function categoryToRow(category: Category): CategoryRow {
  return {
    id: category.id,
    account_id: category.accountId,
    name: category.name,
    description: category.description,
    configuration_id: category.configurationId,
    bundle_ids: JSON.stringify(category.bundleIds),
    created_on: category.createdOn,
    modified_on: category.modifiedOn,
    version: category.version,
  };
}

export interface UpdateJobRow {
  id: string;
  account_id: string;
  name: string;
  category: string | null;
  tags: string;
  client_ids: string;
  bundle_ids: string;
  configuration_id: string | null;
  configuration_version: number | null;
  state: string;
  failure_threshold: number | null;
  created_on: number;
  created_by: string;
  modified_on: number;
  version: number;
}

export function updateJobFromRow(row: UpdateJobRow): UpdateJob {
  return {
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    category: row.category,
    tags: JSON.parse(row.tags) as string[],
    clientIds: JSON.parse(row.client_ids) as string[],
    bundleIds: JSON.parse(row.bundle_ids) as string[],
    configurationId: row.configuration_id,
    configurationVersion: row.configuration_version,
    state: row.state as UpdateJobState,
    failureThreshold: row.failure_threshold,
    createdOn: row.created_on,
    createdBy: row.created_by,
    modifiedOn: row.modified_on,
    version: row.version,
  };
}

export function updateJobToRow(job: UpdateJob): UpdateJobRow {
  return {
    id: job.id,
    account_id: job.accountId,
    name: job.name,
    category: job.category,
    tags: JSON.stringify(job.tags),
    client_ids: JSON.stringify(job.clientIds),
    bundle_ids: JSON.stringify(job.bundleIds),
    configuration_id: job.configurationId,
    configuration_version: job.configurationVersion,
    state: job.state,
    failure_threshold: job.failureThreshold,
    created_on: job.createdOn,
    created_by: job.createdBy,
    modified_on: job.modifiedOn,
    version: job.version,
  };
}

export interface JobDeviceRow {
  job_id: string;
  client_id: string;
  account_id: string;
  state: string;
  error: string | null;
  modified_on: number;
}

export function jobDeviceFromRow(row: JobDeviceRow): JobDeviceStatus {
  return {
    jobId: row.job_id,
    accountId: row.account_id,
    clientId: row.client_id,
    state: row.state as JobDeviceState,
    error: row.error,
    modifiedOn: row.modified_on,
  };
}

export function jobDeviceToRow(status: JobDeviceStatus): JobDeviceRow {
  return {
    job_id: status.jobId,
    client_id: status.clientId,
    account_id: status.accountId,
    state: status.state,
    error: status.error,
    modified_on: status.modifiedOn,
  };
}

export interface BrokerHeartbeatRow {
  broker_id: string;
  seen_on: number;
}

export function brokerHeartbeatFromRow(row: BrokerHeartbeatRow): BrokerHeartbeat {
  return { brokerId: row.broker_id, seenOn: row.seen_on };
}
