import type { DeviceAssignment, EnrollmentGroup, FactoryCertificateBlock, ManufacturerCa, ProvisioningCode } from '../store/types.ts';
import { iso, isoOrNull } from './views.ts';

/**
 * Zero-touch onboarding records on the wire (issue 18): ISO date-times, and never a code or its
 * hash (a provisioning code's view says who used it, not what it was).
 */

export function manufacturerCaView(ca: ManufacturerCa) {
  return {
    id: ca.id,
    name: ca.name,
    pem: ca.pem,
    fingerprintSha256: ca.fingerprintSha256,
    subject: ca.subject,
    notAfter: iso(ca.notAfter),
    enabled: ca.enabled,
    createdOn: iso(ca.createdOn),
    modifiedOn: iso(ca.modifiedOn),
    version: ca.version,
  };
}

export function factoryCertificateBlockView(block: FactoryCertificateBlock) {
  return {
    manufacturerCaId: block.manufacturerCaId,
    serial: block.serial,
    reason: block.reason,
    blockedOn: iso(block.blockedOn),
    blockedBy: block.blockedBy,
  };
}

export function enrollmentGroupView(group: EnrollmentGroup) {
  return {
    id: group.id,
    accountId: group.accountId,
    name: group.name,
    manufacturerCaId: group.manufacturerCaId,
    category: group.category,
    configurationId: group.configurationId,
    bundleIds: [...group.bundleIds],
    tags: [...group.tags],
    allowSerials: [...group.allowSerials],
    allowClientIds: [...group.allowClientIds],
    denySerials: [...group.denySerials],
    denyClientIds: [...group.denyClientIds],
    validFrom: isoOrNull(group.validFrom),
    validUntil: isoOrNull(group.validUntil),
    reprovisionAllowed: group.reprovisionAllowed,
    provisionBrokerUrl: group.provisionBrokerUrl,
    enabled: group.enabled,
    createdOn: iso(group.createdOn),
    modifiedOn: iso(group.modifiedOn),
    version: group.version,
  };
}

export function provisioningCodeView(code: ProvisioningCode) {
  return {
    id: code.id,
    accountId: code.accountId,
    category: code.category,
    status: code.status,
    clientId: code.clientId,
    provisionRequestId: code.provisionRequestId,
    createdOn: iso(code.createdOn),
    createdBy: code.createdBy,
    expiresOn: iso(code.expiresOn),
    registeredOn: isoOrNull(code.registeredOn),
  };
}

export function deviceAssignmentView(assignment: DeviceAssignment) {
  return {
    clientId: assignment.clientId,
    enrollmentGroupId: assignment.enrollmentGroupId,
    provisionBrokerUrl: assignment.provisionBrokerUrl,
    modifiedOn: iso(assignment.modifiedOn),
    modifiedBy: assignment.modifiedBy,
  };
}
