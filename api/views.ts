import type { Account, AuditEvent, BundleMetadata, Configuration, ConfigurationVersion, IssuedCertificate, Page, ProvisionRequest } from '../store/types.ts';

/** How records look on the wire: ISO date-times, and never a hash or a secret. */
export function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

export function isoOrNull(epochMs: number | null): string | null {
  return epochMs === null ? null : iso(epochMs);
}

export function pageView<T, V>(page: Page<T>, view: (item: T) => V): { items: V[]; total: number; offset: number; limit: number } {
  return { items: page.items.map(view), total: page.total, offset: page.offset, limit: page.limit };
}

export function accountView(account: Account) {
  return {
    id: account.id,
    name: account.name,
    brokerUrl: account.brokerUrl,
    configurationTemplate: account.configurationTemplate,
    defaultBundleIds: [...account.defaultBundleIds],
    createdOn: iso(account.createdOn),
    modifiedOn: iso(account.modifiedOn),
    version: account.version,
  };
}

export function provisionRequestView(request: ProvisionRequest) {
  return {
    id: request.id,
    accountId: request.accountId,
    clientId: request.clientId,
    username: request.username,
    hasActivationKey: request.activationKeyHash !== null,
    activatesOn: iso(request.activatesOn),
    expiresOn: iso(request.expiresOn),
    retryMaxAttempts: request.retryMaxAttempts,
    retryCount: request.retryCount,
    overwriteIfDuplicate: request.overwriteIfDuplicate,
    status: request.status,
    jobStatus: request.jobStatus,
    configurationId: request.configurationId,
    bundleIds: [...request.bundleIds],
    category: request.category,
    tags: [...request.tags],
    device: { model: request.device.model, serial: request.device.serial, firmware: request.device.firmware },
    createdOn: iso(request.createdOn),
    createdBy: request.createdBy,
    modifiedOn: iso(request.modifiedOn),
    modifiedBy: request.modifiedBy,
    version: request.version,
  };
}

export function configurationView(configuration: Configuration) {
  return {
    id: configuration.id,
    accountId: configuration.accountId,
    name: configuration.name,
    content: configuration.content,
    version: configuration.version,
    createdOn: iso(configuration.createdOn),
    modifiedOn: iso(configuration.modifiedOn),
  };
}

export function configurationVersionView(version: ConfigurationVersion) {
  return { ...version, createdOn: iso(version.createdOn) };
}

export function bundleView(bundle: BundleMetadata) {
  return {
    id: bundle.id,
    accountId: bundle.accountId,
    name: bundle.name,
    version: bundle.version,
    size: bundle.size,
    sha256: bundle.sha256,
    createdOn: iso(bundle.createdOn),
  };
}

export function certificateView(certificate: IssuedCertificate) {
  return {
    serial: certificate.serial,
    accountId: certificate.accountId,
    clientId: certificate.clientId,
    provisionRequestId: certificate.provisionRequestId,
    pem: certificate.pem,
    notBefore: iso(certificate.notBefore),
    notAfter: iso(certificate.notAfter),
    status: certificate.status,
    revokedOn: isoOrNull(certificate.revokedOn),
    revocationReason: certificate.revocationReason,
    createdOn: iso(certificate.createdOn),
    renewsSerial: certificate.renewsSerial,
    renewalRequestId: certificate.renewalRequestId,
    renewalSettledOn: isoOrNull(certificate.renewalSettledOn),
  };
}

export function auditEventView(event: AuditEvent) {
  return {
    id: event.id,
    time: iso(event.time),
    type: event.type,
    outcome: event.outcome,
    actor: event.actor,
    accountId: event.accountId,
    clientId: event.clientId,
    provisionRequestId: event.provisionRequestId,
    detail: event.detail,
  };
}
