import { PlatformError, isPlatformError } from '../errors/platform-error.ts';
import type { ProvisionCompleteMessage } from '../protocol/messages.ts';
import { provisioningCodeIdOf } from '../store/enrollment-rules.ts';
import type { Account, DeviceFacts, ProvisionRequest } from '../store/types.ts';
import { audit } from './audit.ts';
import { assignedBundleIds, heldConfiguration, requestSubject } from './held-configuration.ts';
import type { ProvisionerDependencies } from './dependencies.ts';

const actor = 'provisioner';

async function findAnsweredRequest(deps: ProvisionerDependencies, clientId: string, provisionRequestId: string): Promise<ProvisionRequest | null> {
  const enabled = await deps.store.findEnabledProvisionRequest(clientId);
  if (enabled) return enabled;
  // Already completed (the device lost our answer to its report and sends it again).
  const all = await deps.store.listProvisionRequests({ clientIds: [clientId], jobStatuses: ['COMPLETED'], limit: 1000 });
  return all.items.find((request) => request.currentRequestId === provisionRequestId) ?? null;
}

/** Revokes the device's older certificates: after re-provisioning only the new one is valid. */
async function revokeSuperseded(deps: ProvisionerDependencies, request: ProvisionRequest): Promise<void> {
  const valid = await deps.store.listCertificates({ clientId: request.clientId, status: 'VALID', limit: 1000 });
  for (const certificate of valid.items) {
    if (certificate.serial === request.certificateSerial) continue;
    await deps.store.revokeCertificate(certificate.serial, 'superseded: device provisioned again');
    // The old identity may still be online on the account broker (the device was reset, or cloned).
    await deps.sessions.endSessions({ kind: 'certificate', clientId: certificate.clientId, serial: certificate.serial, cause: 'superseded' });
    await audit(deps.store, deps.log, {
      actor,
      accountId: certificate.accountId,
      clientId: request.clientId,
      provisionRequestId: request.id,
      type: 'certificate.revoked',
      outcome: 'success',
      detail: { serial: certificate.serial, reason: 'superseded by re-provisioning' },
    });
  }
}

/**
 * The registry's record of a device that completed provisioning: its identity, category, tags
 * and facts from the request, the configuration it reported (the one held for it) as applied,
 * the bundles it installed. A configuration an update job had assigned to it is cleared: a new
 * provisioning starts from its request and category.
 */
async function recordProvisionedDevice(deps: ProvisionerDependencies, account: Account, request: ProvisionRequest, configurationHash: string): Promise<void> {
  const certificate = request.certificateSerial ? await deps.store.getCertificate(request.certificateSerial) : null;
  const bundles = [];
  for (const id of await assignedBundleIds(deps.store, account, requestSubject(request))) {
    const bundle = await deps.store.getBundle(id);
    if (bundle) bundles.push({ name: bundle.name, version: bundle.version, sha256: bundle.sha256 });
  }
  // provisionedOn is when the device was first provisioned: a provisioning again (a factory reset, a move) keeps it.
  const known = await deps.store.getDevice(account.id, request.clientId);
  await deps.store.upsertDevice(account.id, request.clientId, {
    category: request.category,
    tags: request.tags,
    ...knownFacts(request.device),
    certificateSerial: request.certificateSerial,
    certificateNotAfter: certificate?.notAfter ?? null,
    configurationId: null,
    configurationVersion: null,
    expectedConfigurationHash: configurationHash,
    reportedConfigurationHash: configurationHash,
    configurationState: 'APPLIED',
    configurationError: null,
    bundles,
    ...(known?.provisionedOn ? {} : { provisionedOn: Date.now() }),
  });
}

/**
 * A request made for a provisioning code (docs/PROTOCOL.md §18): the code becomes REGISTERED to
 * the device and its hash is removed, so it admits nobody any more. Idempotent (a repeated report,
 * or one whose first run stopped after the request was completed, registers it once).
 */
async function registerProvisioningCode(deps: ProvisionerDependencies, request: ProvisionRequest): Promise<void> {
  const codeId = provisioningCodeIdOf(request.createdBy);
  if (codeId === null) return;
  if (!(await deps.store.markProvisioningCodeRegistered(codeId, Date.now()))) return;
  await audit(deps.store, deps.log, {
    actor,
    accountId: request.accountId,
    clientId: request.clientId,
    provisionRequestId: request.id,
    type: 'provisioning-code.registered',
    outcome: 'success',
    detail: { codeId },
  });
}

/** The facts a device sent (a fact it did not send keeps what the registry knew). */
function knownFacts(facts: DeviceFacts): Partial<DeviceFacts> {
  return Object.fromEntries(Object.entries(facts).filter(([, value]) => value !== null));
}

/**
 * The device reports it installed what it got: the request becomes COMPLETED and is disabled, so
 * its credentials no longer open the provision broker. Repeating the report is harmless.
 */
export async function handleCompletion(deps: ProvisionerDependencies, clientId: string, message: ProvisionCompleteMessage): Promise<void> {
  if (message.requesterClientId !== clientId) {
    throw new PlatformError('VALIDATION_FAILED', { detail: 'requester.client.id is not the topic clientId' });
  }
  for (let round = 0; round < 5; round += 1) {
    const request = await findAnsweredRequest(deps, clientId, message.provisionRequestId);
    if (!request || request.currentRequestId !== message.provisionRequestId || !request.certificateSerial) {
      throw new PlatformError('REQUEST_WRONG_STATE', { detail: 'no answered provisioning attempt with this provision.request.id' });
    }
    if (request.jobStatus === 'COMPLETED') {
      await registerProvisioningCode(deps, request);
      return;
    }
    const account = await deps.store.getAccount(request.accountId);
    if (!account) throw new PlatformError('REQUEST_WRONG_STATE', { detail: 'account no longer exists' });
    const expected = (await heldConfiguration(deps.store, account, requestSubject(request), deps.accountBrokerUrl)).built;
    const base = { actor, accountId: account.id, clientId, provisionRequestId: request.id };
    if (expected.sha256 !== message.configurationHash) {
      // The OpenWiFi rule: a device whose hash differs gets its configuration again. The request
      // stays open; the device repeats its provision request.id (same certificate, current
      // configuration), applies it and reports again (PROTOCOL.md §9).
      await audit(deps.store, deps.log, {
        ...base,
        type: 'provision.conf_mismatch',
        outcome: 'failure',
        detail: { reportedHash: message.configurationHash, expectedHash: expected.sha256 },
      });
      throw new PlatformError('CONFIGURATION_HASH_MISMATCH', { detail: `expected ${expected.sha256}` });
    }
    try {
      await deps.store.updateProvisionRequest(request.id, request.version, {
        jobStatus: 'COMPLETED',
        status: 'DISABLED',
        modifiedBy: actor,
      });
    } catch (error) {
      if (isPlatformError(error) && error.code === 'VERSION_CONFLICT') continue;
      throw error;
    }
    await registerProvisioningCode(deps, request);
    await audit(deps.store, deps.log, {
      ...base,
      type: 'provision.conf_updated',
      outcome: 'success',
      detail: { reportedHash: message.configurationHash, expectedHash: expected.sha256 },
    });
    await audit(deps.store, deps.log, {
      ...base,
      type: 'provision.apps_installed',
      outcome: 'success',
      detail: { installed: message.bundlesInstalled },
    });
    await revokeSuperseded(deps, request);
    await recordProvisionedDevice(deps, account, request, expected.sha256);
    await audit(deps.store, deps.log, { ...base, type: 'provision.completed', outcome: 'success', detail: { serial: request.certificateSerial } });
    return;
  }
  throw new PlatformError('OVERLOADED', { retryAfterSeconds: 1, detail: 'request contended' });
}
