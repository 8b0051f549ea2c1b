import type {
  DeviceAssignment,
  EnrollmentGroup,
  FactoryCertificateBlock,
  ManufacturerCa,
  ProvisioningCode,
  ProvisioningCodeStatus,
} from '../enrollment-types.ts';

/**
 * The zero-touch onboarding tables' rows (migration 10) and their mapping to and from the records
 * of store/enrollment-types.ts, as row-mapping.ts does for the others: snake_case, JSON text for
 * lists, 0/1 for booleans. Row objects double as named statement parameters (@column).
 */

export interface ManufacturerCaRow {
  id: string;
  name: string;
  pem: string;
  fingerprint_sha256: string;
  subject: string;
  not_after: number;
  enabled: number;
  created_on: number;
  modified_on: number;
  version: number;
}

export function manufacturerCaFromRow(row: ManufacturerCaRow): ManufacturerCa {
  return {
    id: row.id,
    name: row.name,
    pem: row.pem,
    fingerprintSha256: row.fingerprint_sha256,
    subject: row.subject,
    notAfter: row.not_after,
    enabled: row.enabled === 1,
    createdOn: row.created_on,
    modifiedOn: row.modified_on,
    version: row.version,
  };
}

export function manufacturerCaToRow(ca: ManufacturerCa): ManufacturerCaRow {
  return {
    id: ca.id,
    name: ca.name,
    pem: ca.pem,
    fingerprint_sha256: ca.fingerprintSha256,
    subject: ca.subject,
    not_after: ca.notAfter,
    enabled: ca.enabled ? 1 : 0,
    created_on: ca.createdOn,
    modified_on: ca.modifiedOn,
    version: ca.version,
  };
}

export interface FactoryCertificateBlockRow {
  manufacturer_ca_id: string;
  serial: string;
  reason: string;
  blocked_on: number;
  blocked_by: string;
}

export function factoryCertificateBlockFromRow(row: FactoryCertificateBlockRow): FactoryCertificateBlock {
  return { manufacturerCaId: row.manufacturer_ca_id, serial: row.serial, reason: row.reason, blockedOn: row.blocked_on, blockedBy: row.blocked_by };
}

export function factoryCertificateBlockToRow(block: FactoryCertificateBlock): FactoryCertificateBlockRow {
  return {
    manufacturer_ca_id: block.manufacturerCaId,
    serial: block.serial,
    reason: block.reason,
    blocked_on: block.blockedOn,
    blocked_by: block.blockedBy,
  };
}

export interface EnrollmentGroupRow {
  id: string;
  account_id: string;
  name: string;
  manufacturer_ca_id: string;
  category: string | null;
  configuration_id: string | null;
  bundle_ids: string;
  tags: string;
  allow_serials: string;
  allow_client_ids: string;
  deny_serials: string;
  deny_client_ids: string;
  valid_from: number | null;
  valid_until: number | null;
  reprovision_allowed: number;
  provision_broker_url: string | null;
  enabled: number;
  created_on: number;
  modified_on: number;
  version: number;
}

export function enrollmentGroupFromRow(row: EnrollmentGroupRow): EnrollmentGroup {
  return {
    id: row.id,
    name: row.name,
    accountId: row.account_id,
    manufacturerCaId: row.manufacturer_ca_id,
    category: row.category,
    configurationId: row.configuration_id,
    bundleIds: JSON.parse(row.bundle_ids) as string[],
    tags: JSON.parse(row.tags) as string[],
    allowSerials: JSON.parse(row.allow_serials) as string[],
    allowClientIds: JSON.parse(row.allow_client_ids) as string[],
    denySerials: JSON.parse(row.deny_serials) as string[],
    denyClientIds: JSON.parse(row.deny_client_ids) as string[],
    validFrom: row.valid_from,
    validUntil: row.valid_until,
    reprovisionAllowed: row.reprovision_allowed === 1,
    provisionBrokerUrl: row.provision_broker_url,
    enabled: row.enabled === 1,
    createdOn: row.created_on,
    modifiedOn: row.modified_on,
    version: row.version,
  };
}

export function enrollmentGroupToRow(group: EnrollmentGroup): EnrollmentGroupRow {
  return {
    id: group.id,
    account_id: group.accountId,
    name: group.name,
    manufacturer_ca_id: group.manufacturerCaId,
    category: group.category,
    configuration_id: group.configurationId,
    bundle_ids: JSON.stringify(group.bundleIds),
    tags: JSON.stringify(group.tags),
    allow_serials: JSON.stringify(group.allowSerials),
    allow_client_ids: JSON.stringify(group.allowClientIds),
    deny_serials: JSON.stringify(group.denySerials),
    deny_client_ids: JSON.stringify(group.denyClientIds),
    valid_from: group.validFrom,
    valid_until: group.validUntil,
    reprovision_allowed: group.reprovisionAllowed ? 1 : 0,
    provision_broker_url: group.provisionBrokerUrl,
    enabled: group.enabled ? 1 : 0,
    created_on: group.createdOn,
    modified_on: group.modifiedOn,
    version: group.version,
  };
}

export interface ProvisioningCodeRow {
  id: string;
  account_id: string;
  category: string | null;
  code_hash: string | null;
  status: string;
  client_id: string | null;
  provision_request_id: string | null;
  created_on: number;
  created_by: string;
  expires_on: number;
  registered_on: number | null;
}

export function provisioningCodeFromRow(row: ProvisioningCodeRow): ProvisioningCode {
  return {
    id: row.id,
    accountId: row.account_id,
    category: row.category,
    codeHash: row.code_hash,
    status: row.status as ProvisioningCodeStatus,
    clientId: row.client_id,
    provisionRequestId: row.provision_request_id,
    createdOn: row.created_on,
    createdBy: row.created_by,
    expiresOn: row.expires_on,
    registeredOn: row.registered_on,
  };
}

export function provisioningCodeToRow(code: ProvisioningCode): ProvisioningCodeRow {
  return {
    id: code.id,
    account_id: code.accountId,
    category: code.category,
    code_hash: code.codeHash,
    status: code.status,
    client_id: code.clientId,
    provision_request_id: code.provisionRequestId,
    created_on: code.createdOn,
    created_by: code.createdBy,
    expires_on: code.expiresOn,
    registered_on: code.registeredOn,
  };
}

export interface DeviceAssignmentRow {
  client_id: string;
  enrollment_group_id: string | null;
  provision_broker_url: string | null;
  modified_on: number;
  modified_by: string;
}

export function deviceAssignmentFromRow(row: DeviceAssignmentRow): DeviceAssignment {
  return {
    clientId: row.client_id,
    enrollmentGroupId: row.enrollment_group_id,
    provisionBrokerUrl: row.provision_broker_url,
    modifiedOn: row.modified_on,
    modifiedBy: row.modified_by,
  };
}

export function deviceAssignmentToRow(assignment: DeviceAssignment): DeviceAssignmentRow {
  return {
    client_id: assignment.clientId,
    enrollment_group_id: assignment.enrollmentGroupId,
    provision_broker_url: assignment.provisionBrokerUrl,
    modified_on: assignment.modifiedOn,
    modified_by: assignment.modifiedBy,
  };
}
