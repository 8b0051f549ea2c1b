import type { AuditEvent, DeviceRecord, IssuedCertificate, JobDeviceStatus } from '../store/types.ts';
import { auditEventView, iso } from './views.ts';

/** How device records look on the wire (the Device and DeviceDetail schemas): ISO date-times, copies of the lists. */
function isoOrNull(epochMs: number | null): string | null {
  return epochMs === null ? null : iso(epochMs);
}

export function deviceView(device: DeviceRecord) {
  return {
    id: device.id,
    accountId: device.accountId,
    clientId: device.clientId,
    online: device.online,
    brokerId: device.brokerId,
    category: device.category,
    tags: [...device.tags],
    model: device.model,
    serial: device.serial,
    firmware: device.firmware,
    certificateSerial: device.certificateSerial,
    certificateNotAfter: isoOrNull(device.certificateNotAfter),
    configurationId: device.configurationId,
    configurationVersion: device.configurationVersion,
    expectedConfigurationHash: device.expectedConfigurationHash,
    reportedConfigurationHash: device.reportedConfigurationHash,
    configurationState: device.configurationState,
    configurationError: device.configurationError,
    bundles: device.bundles.map(({ name, version, sha256 }) => ({ name, version, sha256 })),
    trustedRoots: [...device.trustedRoots],
    provisionedOn: isoOrNull(device.provisionedOn),
    lastBirthOn: isoOrNull(device.lastBirthOn),
    lastSeenOn: isoOrNull(device.lastSeenOn),
    modifiedOn: iso(device.modifiedOn),
  };
}

/** What GET /devices/{id} adds to the record; the caller has already limited each list to the device's account. */
export interface DeviceHistory {
  readonly jobs: readonly JobDeviceStatus[];
  readonly audit: readonly AuditEvent[];
  readonly certificates: readonly IssuedCertificate[];
}

/** A certificate as the device page shows it: no PEM (GET /certificates/{serial} has it). */
function deviceCertificateView(certificate: IssuedCertificate) {
  return {
    serial: certificate.serial,
    status: certificate.status,
    notBefore: iso(certificate.notBefore),
    notAfter: iso(certificate.notAfter),
    revokedOn: isoOrNull(certificate.revokedOn),
  };
}

export function deviceDetailView(device: DeviceRecord, history: DeviceHistory) {
  return {
    ...deviceView(device),
    jobs: history.jobs.map((job) => ({ jobId: job.jobId, state: job.state, error: job.error, modifiedOn: iso(job.modifiedOn) })),
    audit: history.audit.map(auditEventView),
    certificates: history.certificates.map(deviceCertificateView),
  };
}
