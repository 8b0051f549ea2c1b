import { createPublicKey, X509Certificate } from 'node:crypto';
import { parseCsr, type ParsedCsr } from '../certs/csr.ts';
import { checkCsrSubject } from '../certs/device-issuer.ts';
import { PlatformError, isPlatformError } from '../errors/platform-error.ts';
import type { ProvisionRequestMessage, ProvisionResult } from '../protocol/messages.ts';
import { verifySecret } from '../crypto/secret-hash.ts';
import type { Account, IssuedCertificate, ProvisionRequest } from '../store/types.ts';
import { audit } from './audit.ts';
import { assignedBundleIds, heldConfiguration, requestSubject } from './held-configuration.ts';
import type { ProvisionerDependencies } from './dependencies.ts';
import { deriveDeviceKey, deriveIssuedDeviceKey } from './device-key-derivation.ts';
import { renewalWindow } from './renewal-window.ts';
import type { MessageOrigin } from './transport.ts';

/** What the provisioner does with one provision message: a result to sign, or nothing to say. */
export type AttemptOutcome = { kind: 'result'; result: ProvisionResult } | { kind: 'silent'; reason: string };

const actor = 'provisioner';

function baseAudit(request: ProvisionRequest) {
  return { actor, accountId: request.accountId, clientId: request.clientId, provisionRequestId: request.id };
}

/** The request the device's credentials opened, or the reason there is none to work on. */
async function loadRequest(deps: ProvisionerDependencies, clientId: string): Promise<ProvisionRequest> {
  const request = await deps.store.findEnabledProvisionRequest(clientId);
  if (request) return request;
  const others = await deps.store.listProvisionRequests({ clientIds: [clientId], limit: 1 });
  if (others.total > 0) throw new PlatformError('REQUEST_WRONG_STATE', { detail: 'no enabled provision request' });
  throw new PlatformError('NOT_FOUND', { detail: 'no provision request' });
}

function checkUsable(request: ProvisionRequest, now: number): void {
  if (request.expiresOn <= now) throw new PlatformError('REQUEST_EXPIRED');
  if (request.activatesOn > now) throw new PlatformError('REQUEST_NOT_ACTIVE', { retryAfterSeconds: Math.ceil((request.activatesOn - now) / 1000) });
  if (['COMPLETED', 'FAILED', 'ABANDONED', 'STOPPED'].includes(request.jobStatus)) {
    throw new PlatformError('REQUEST_WRONG_STATE', { detail: `job is ${request.jobStatus}` });
  }
}

/** Counts a failed attempt; at the limit the request is FAILED and disabled. */
async function countFailure(deps: ProvisionerDependencies, request: ProvisionRequest, reason: string): Promise<void> {
  const retryCount = request.retryCount + 1;
  const exhausted = retryCount >= request.retryMaxAttempts;
  try {
    await deps.store.updateProvisionRequest(request.id, request.version, {
      retryCount,
      modifiedBy: actor,
      ...(exhausted ? { jobStatus: 'FAILED' as const, status: 'DISABLED' as const } : {}),
    });
  } catch (error) {
    if (!isPlatformError(error) || error.code !== 'VERSION_CONFLICT') throw error;
  }
  await audit(deps.store, deps.log, { ...baseAudit(request), type: 'provision.attempt.failed', outcome: 'failure', detail: { reason, retryCount } });
  if (exhausted) {
    await audit(deps.store, deps.log, { ...baseAudit(request), type: 'provision.failed', outcome: 'failure', detail: { reason: 'retries exhausted' } });
  }
}

async function checkActivationKey(deps: ProvisionerDependencies, request: ProvisionRequest, message: ProvisionRequestMessage): Promise<void> {
  if (request.activationKeyHash === null) return;
  const given = message.activationKey;
  if (given !== undefined && (await verifySecret(given, request.activationKeyHash))) return;
  await countFailure(deps, request, 'wrong activation key');
  throw new PlatformError('ACTIVATION_KEY_INVALID');
}

/**
 * Claims the attempt named by request.id: compare-and-set on the request's version, so that of
 * two workers handling the same message exactly one issues a certificate. A new request.id after
 * an unfinished attempt revokes the certificate that attempt issued (the device never used it).
 */
async function claimAttempt(deps: ProvisionerDependencies, request: ProvisionRequest, message: ProvisionRequestMessage): Promise<ProvisionRequest> {
  const requestId = message.requestId;
  if (request.retryCount >= request.retryMaxAttempts) throw new PlatformError('RETRIES_EXHAUSTED');
  const claimed = await deps.store.updateProvisionRequest(request.id, request.version, {
    // The device facts of this attempt, shown to the operator (PROTOCOL.md §5).
    device: message.device,
    currentRequestId: requestId,
    certificateSerial: null,
    retryCount: request.retryCount + 1,
    jobStatus: 'STARTED',
    modifiedBy: actor,
  });
  if (request.certificateSerial) {
    await deps.store.revokeCertificate(request.certificateSerial, 'superseded: the device started a new attempt');
    // Never reported complete, yet it opens the account broker until now.
    await deps.sessions.endSessions({ kind: 'certificate', clientId: request.clientId, serial: request.certificateSerial, cause: 'superseded' });
    await audit(deps.store, deps.log, {
      ...baseAudit(request),
      type: 'certificate.revoked',
      outcome: 'success',
      detail: { serial: request.certificateSerial, reason: 'superseded by a new attempt' },
    });
  }
  await audit(deps.store, deps.log, { ...baseAudit(request), type: 'provision.started', outcome: 'success', detail: { requestId } });
  return claimed;
}

async function issueCertificate(
  deps: ProvisionerDependencies,
  request: ProvisionRequest,
  account: Account,
  csr: ParsedCsr | undefined,
  requestId: string,
): Promise<{ certificate: IssuedCertificate; keyPem?: string }> {
  const subject = { clientId: request.clientId, account: account.name };
  let keyPem: string | undefined;
  const issued = csr
    ? await deps.issuer.issueFromCsr(csr, subject)
    : await (async () => {
        const key = deriveDeviceKey(deps.deviceKeySecret, request.id, requestId);
        keyPem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
        return deps.issuer.issueForPublicKey(createPublicKey(key), subject);
      })();
  const certificate = await deps.store.recordCertificate({
    serial: issued.serial,
    accountId: account.id,
    clientId: request.clientId,
    provisionRequestId: request.id,
    pem: issued.certPem,
    notBefore: issued.notBefore,
    notAfter: issued.notAfter,
  });
  return keyPem ? { certificate, keyPem } : { certificate };
}

async function buildResult(
  deps: ProvisionerDependencies,
  request: ProvisionRequest,
  account: Account,
  requestId: string,
  certificate: IssuedCertificate,
  keyPem: string | undefined,
): Promise<ProvisionResult> {
  const subject = requestSubject(request);
  const configuration = (await heldConfiguration(deps.store, account, subject, deps.accountBrokerUrl)).built;
  const bundleIds = await assignedBundleIds(deps.store, account, subject);
  const bundles = [];
  for (const id of bundleIds) {
    const bundle = await deps.store.getBundle(id);
    if (!bundle) throw new PlatformError('REQUEST_WRONG_STATE', { detail: `bundle ${id} no longer exists` });
    bundles.push({
      name: bundle.name,
      version: bundle.version,
      size: bundle.size,
      sha256: bundle.sha256,
      url: await deps.bundleDownloadUrl(bundle, request.clientId),
    });
  }
  return {
    clientId: request.clientId,
    requestId,
    account: account.name,
    issuedOn: certificate.createdOn,
    certificates: {
      client: certificate.pem,
      ...(keyPem ? { clientKey: keyPem } : {}),
      chain: [...deps.chainPems],
      signing: deps.signing.certPem,
    },
    configuration,
    bundles,
    next: { brokerUrl: account.brokerUrl ?? deps.accountBrokerUrl, clientId: request.clientId, account: account.name, auth: 'client-certificate' },
    renewal: renewalWindow(certificate, deps.certificateRenewal.certificateRenewalShare),
    ...(deps.nextRootTrust ? { trust: deps.nextRootTrust } : {}),
  };
}

/**
 * The key a repeated message asks for must be the key the certificate of its request.id holds:
 * the same CSR's key, or (no CSR) the key the platform generated. Otherwise the device would get
 * a certificate that does not match the key it holds (issue 11): ATTEMPT_KEY_CHANGED.
 * Returns the generated key's PEM when there is one to send again.
 */
function keyOfRepeat(
  deps: ProvisionerDependencies,
  request: ProvisionRequest,
  message: ProvisionRequestMessage,
  certificate: IssuedCertificate,
): string | undefined {
  const certificateSpki = new X509Certificate(certificate.pem).publicKey.export({ type: 'spki', format: 'der' });
  const csr = checkCsr(message.csr, request.clientId);
  if (csr) {
    if (csr.subjectPublicKeyInfo.equals(certificateSpki)) return undefined;
    throw new PlatformError('ATTEMPT_KEY_CHANGED', { detail: 'the CSR is for another key than the certificate issued to this request.id' });
  }
  // A certificate for a generated key holds exactly the derived public key (with the secret of its time); one from a CSR does not.
  const derivedKey = deriveIssuedDeviceKey([deps.deviceKeySecret, ...(deps.previousDeviceKeySecrets ?? [])], request.id, message.requestId, certificateSpki);
  if (derivedKey) return derivedKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  throw new PlatformError('ATTEMPT_KEY_CHANGED', { detail: 'this request.id was answered to a CSR: send the same CSR again' });
}

/**
 * Repeats the answer to an attempt already answered: same certificate, same key, the current
 * configuration and fresh bundle links (the first ones may have expired).
 */
async function repeatResult(
  deps: ProvisionerDependencies,
  request: ProvisionRequest,
  account: Account,
  message: ProvisionRequestMessage,
  certificate: IssuedCertificate,
): Promise<AttemptOutcome> {
  const keyPem = keyOfRepeat(deps, request, message, certificate);
  await audit(deps.store, deps.log, { ...baseAudit(request), type: 'provision.repeated', outcome: 'success', detail: { requestId: message.requestId } });
  return { kind: 'result', result: await buildResult(deps, request, account, message.requestId, certificate, keyPem) };
}

/**
 * Fix (issue 7, found by test/fuzz-provisioning.test.ts): the CSR used to be checked only when the
 * certificate was issued, after the attempt had been claimed, so a bad CSR (a 400: "the agent is
 * wrong") still used up one of the request's attempts and left it STARTED under that request.id
 * (a retry with the same id then went unanswered for abandonedClaimMs). Checked before the claim,
 * it leaves the store untouched, and the parsed CSR goes on to the issuer.
 */
function checkCsr(csr: string | undefined, clientId: string): ParsedCsr | undefined {
  if (csr === undefined) return undefined;
  const parsed = parseCsr(csr);
  checkCsrSubject(parsed, clientId);
  return parsed;
}

/** A claim whose worker never recorded a certificate within this time is taken over. */
const abandonedClaimMs = 30_000;

/** Handles one provision message for the device `clientId` (already authenticated by the broker). */
export async function handleProvisionAttempt(
  deps: ProvisionerDependencies,
  clientId: string,
  message: ProvisionRequestMessage,
  origin: MessageOrigin,
): Promise<AttemptOutcome> {
  const now = (deps.now ?? Date.now)();
  if (message.requesterClientId !== clientId) {
    throw new PlatformError('VALIDATION_FAILED', { detail: 'requester.client.id is not the topic clientId' });
  }
  // A generated private key crosses the network in the reply: never in clear unless the operator allows it.
  if (message.csr === undefined && origin.secure !== true && !deps.allowKeyGenerationOverPlainMqtt) {
    throw new PlatformError('KEY_GENERATION_NEEDS_TLS', { detail: 'this connection is not encrypted' });
  }
  for (let round = 0; round < 5; round += 1) {
    const request = await loadRequest(deps, clientId);
    checkUsable(request, now);
    const account = await deps.store.getAccount(request.accountId);
    if (!account) throw new PlatformError('REQUEST_WRONG_STATE', { detail: 'account no longer exists' });
    // Checked for repeats too: a request.id can be guessed, the activation key cannot.
    await checkActivationKey(deps, request, message);
    if (request.currentRequestId === message.requestId) {
      const certificate = request.certificateSerial ? await deps.store.getCertificate(request.certificateSerial) : null;
      if (certificate) return repeatResult(deps, request, account, message, certificate);
      // Another worker is issuing for this very message (a duplicate delivery): it will answer.
      if (now - request.modifiedOn < abandonedClaimMs) return { kind: 'silent', reason: 'attempt in progress elsewhere' };
    }

    const csr = checkCsr(message.csr, clientId);
    let claimed: ProvisionRequest;
    try {
      claimed = await claimAttempt(deps, request, message);
    } catch (error) {
      if (isPlatformError(error) && error.code === 'VERSION_CONFLICT') continue; // someone else moved it: look again
      if (isPlatformError(error) && error.code === 'RETRIES_EXHAUSTED') {
        await countFailure(deps, request, 'retries exhausted');
      }
      throw error;
    }
    const { certificate, keyPem } = await issueCertificate(deps, claimed, account, csr, message.requestId);
    try {
      await deps.store.updateProvisionRequest(claimed.id, claimed.version, {
        certificateSerial: certificate.serial,
        jobStatus: 'RUNNING',
        modifiedBy: actor,
      });
    } catch (error) {
      // The request changed under us (disabled by an admin, or a newer attempt): this certificate is an orphan.
      // No session to end: this certificate was issued in this call and never left it.
      await deps.store.revokeCertificate(certificate.serial, 'provisioning attempt abandoned');
      if (isPlatformError(error) && error.code === 'VERSION_CONFLICT') {
        throw new PlatformError('REQUEST_WRONG_STATE', { detail: 'the request changed during provisioning; retry' });
      }
      throw error;
    }
    await audit(deps.store, deps.log, {
      actor,
      accountId: account.id,
      clientId,
      provisionRequestId: claimed.id,
      type: 'certificate.issued',
      outcome: 'success',
      detail: { serial: certificate.serial, fromCsr: Boolean(message.csr) },
    });
    return { kind: 'result', result: await buildResult(deps, claimed, account, message.requestId, certificate, keyPem) };
  }
  throw new PlatformError('OVERLOADED', { retryAfterSeconds: 1, detail: 'request contended' });
}
