import { X509Certificate } from 'node:crypto';
import { parseCsr, type ParsedCsr } from '../certs/csr.ts';
import { checkCsrSubject } from '../certs/device-issuer.ts';
import { isPlatformError, PlatformError, toPlatformError } from '../errors/platform-error.ts';
import type { Logger } from '../log/logger.ts';
import { ProtocolError } from '../protocol/messages.ts';
import {
  certificateApp,
  decodeRenewalRequest,
  platformRenewalFilter,
  renewalReplyTopic,
  type RenewalRequestMessage,
  type RenewalResult,
} from '../protocol/renewal.ts';
import { parseDeviceTopic } from '../protocol/topics.ts';
import type { Account, IssuedCertificate } from '../store/types.ts';
import { audit } from './audit.ts';
import type { ProvisionerDependencies } from './dependencies.ts';
import { protocolToPlatformError, salvageRequestId } from './provisioner.ts';
import { ProvisionRateLimit } from './provision-rate-limit.ts';
import { renewalWindow } from './renewal-window.ts';
import { errorReply, renewalReply } from './reply-builder.ts';
import type { ProvisioningTransport } from './transport.ts';
import { certificateRenewals } from '../metrics/metrics.ts';

type RenewalDependencies = Pick<
  ProvisionerDependencies,
  'store' | 'issuer' | 'signing' | 'chainPems' | 'nextRootTrust' | 'certificateRenewal' | 'maxMessageBytes' | 'log' | 'now' | 'sessions'
>;

function spkiOf(certificate: IssuedCertificate): Buffer {
  return new X509Certificate(certificate.pem).publicKey.export({ type: 'spki', format: 'der' });
}

/** CN = clientId and a verified signature; CSR_INVALID / CSR_SUBJECT_MISMATCH otherwise (as PROV-V1 §5). */
function checkCsr(csr: string, clientId: string): ParsedCsr {
  const parsed = parseCsr(csr);
  checkCsrSubject(parsed, clientId);
  return parsed;
}

/**
 * The certificate the device renews: the device record's current one; for a device recorded
 * without one, its newest valid certificate that is not a pending renewal.
 */
function currentCertificate(certificates: readonly IssuedCertificate[], currentSerial: string | null | undefined): IssuedCertificate | undefined {
  if (currentSerial) return certificates.find((certificate) => certificate.serial === currentSerial);
  return [...certificates]
    .reverse()
    .find((certificate) => certificate.status === 'VALID' && (certificate.renewsSerial === null || certificate.renewalSettledOn !== null));
}

/** A request.id answered before: the same certificate in a freshly signed result, or 422 (another key, or revoked since). */
async function answerRepeat(
  deps: RenewalDependencies,
  account: Account,
  clientId: string,
  requestId: string,
  csr: ParsedCsr,
  answered: IssuedCertificate,
): Promise<RenewalResult> {
  if (!csr.subjectPublicKeyInfo.equals(spkiOf(answered))) {
    throw new PlatformError('ATTEMPT_KEY_CHANGED', {
      detail: 'this request.id was answered for another key: send the same CSR again, or renew with a new request.id',
    });
  }
  if (answered.status === 'REVOKED') {
    throw new PlatformError('ATTEMPT_KEY_CHANGED', { detail: 'the certificate issued to this request.id was revoked: renew with a new request.id' });
  }
  await audit(deps.store, deps.log, {
    type: 'certificate.renewal.repeated',
    outcome: 'success',
    actor: clientId,
    accountId: account.id,
    clientId,
    provisionRequestId: answered.provisionRequestId,
    detail: { requestId, serial: answered.serial },
  });
  return resultFor(deps, account, requestId, answered);
}

function resultFor(deps: RenewalDependencies, account: Account, requestId: string, certificate: IssuedCertificate): RenewalResult {
  return {
    clientId: certificate.clientId,
    requestId,
    account: account.name,
    issuedOn: certificate.createdOn,
    certificates: { client: certificate.pem, chain: [...deps.chainPems], signing: deps.signing.certPem },
    renewal: renewalWindow(certificate, deps.certificateRenewal.certificateRenewalShare),
    ...(deps.nextRootTrust ? { trust: deps.nextRootTrust } : {}),
  };
}

/**
 * One renewal request of the device `clientId` of `account` (the account broker authenticated it
 * by its certificate, and its ACL keeps it in its own topic namespace). Answers the result to
 * sign, or null when there is nothing to answer (the account is gone).
 */
export async function handleRenewalRequest(
  deps: RenewalDependencies,
  accountName: string,
  clientId: string,
  message: RenewalRequestMessage,
): Promise<RenewalResult | null> {
  if (message.requesterClientId !== clientId) {
    throw new PlatformError('VALIDATION_FAILED', { detail: 'requester.client.id is not the topic clientId' });
  }
  const csr = checkCsr(message.csr, clientId);
  const account = await deps.store.getAccountByName(accountName);
  if (!account) return null;
  const certificates = (await deps.store.listClientCertificates(clientId)).filter((certificate) => certificate.accountId === account.id);

  // A repeat (PROTOCOL.md §13, "Repeats are idempotent"): the same certificate, or 422.
  const answered = certificates.find((certificate) => certificate.renewalRequestId === message.requestId);
  if (answered) return answerRepeat(deps, account, clientId, message.requestId, csr, answered);

  const device = await deps.store.getDevice(account.id, clientId);
  const current = currentCertificate(certificates, device?.certificateSerial);
  if (!current || current.status !== 'VALID') throw new PlatformError('VALIDATION_FAILED', { detail: 'the device has no valid certificate to renew' });
  if (csr.subjectPublicKeyInfo.equals(spkiOf(current))) {
    throw new PlatformError('CSR_INVALID', { detail: 'the CSR is for the key of the current certificate: renew with a new key' });
  }

  const issued = await deps.issuer.issueFromCsr(csr, { clientId, account: account.name });
  let renewal: IssuedCertificate;
  try {
    renewal = await deps.store.recordCertificate({
      serial: issued.serial,
      accountId: account.id,
      clientId,
      provisionRequestId: current.provisionRequestId,
      pem: issued.certPem,
      notBefore: issued.notBefore,
      notAfter: issued.notAfter,
      renewsSerial: current.serial,
      renewalRequestId: message.requestId,
    });
  } catch (error) {
    // Another broker process recorded a certificate for this request.id first (a copy of the
    // request reached it too): that one is the answer, and the one issued here is never used.
    const first =
      isPlatformError(error) && error.code === 'DUPLICATE'
        ? (await deps.store.listClientCertificates(clientId)).find(
            (certificate) => certificate.accountId === account.id && certificate.renewalRequestId === message.requestId,
          )
        : undefined;
    if (!first) throw error;
    deps.log.info({ clientId, requestId: message.requestId, serial: first.serial, unused: issued.serial }, 'renewal answered by another process first');
    return answerRepeat(deps, account, clientId, message.requestId, csr, first);
  }
  // An earlier renewal of the same certificate that the device never used is replaced by this one.
  for (const earlier of certificates) {
    if (earlier.renewsSerial !== current.serial || earlier.renewalSettledOn !== null || earlier.status !== 'VALID') continue;
    await deps.store.revokeCertificate(earlier.serial, 'superseded: the device renewed again');
    // The notice also marks the published CRL stale (platform/crl-source.ts): the device may hold
    // this certificate from a reply it lost, so relying parties must see it revoked at once.
    await deps.sessions.endSessions({ kind: 'certificate', clientId, serial: earlier.serial, cause: 'superseded' });
    await deps.store.settleRenewal(earlier.serial);
  }
  await audit(deps.store, deps.log, {
    type: 'certificate.renewed',
    outcome: 'success',
    actor: clientId,
    accountId: account.id,
    clientId,
    provisionRequestId: current.provisionRequestId,
    detail: { requestId: message.requestId, serial: renewal.serial, renews: current.serial },
  });
  return resultFor(deps, account, message.requestId, renewal);
}

/**
 * The account broker's CERT-V1 worker: takes renewal requests off `$EDC/+/+/CERT-V1/EXEC/renew`
 * and answers each on `REPLY/{request.id}`, signed. Per device a token bucket
 * (PROVISIO_CERTIFICATE_RENEWAL_BURST, _RENEWALS_PER_HOUR; the first request beyond it is
 * answered 429, the next ones until retry.after.seconds are not answered), per process at most
 * PROVISIO_CERTIFICATE_RENEWAL_MAX_IN_FLIGHT at once (429, retry.after.seconds 1).
 */
export async function startRenewalHandler(deps: RenewalDependencies, transport: ProvisioningTransport): Promise<{ close(): Promise<void> }> {
  const log: Logger = deps.log.child({ component: 'certificate-renewal' });
  const settings = deps.certificateRenewal;
  const rateLimit = new ProvisionRateLimit(settings.certificateRenewalBurst, settings.certificateRenewalsPerHour / 60, deps.now);
  const pending = new Set<Promise<void>>();
  /**
   * Per device, the request being handled: the next one of the same device waits for it, so
   * that two copies of one request (a QoS 1 duplicate, a quick repeat) never issue twice here
   * (across processes the store records one certificate per request.id).
   */
  const deviceTurns = new Map<string, Promise<void>>();
  let closing = false;

  async function reply(account: string, clientId: string, requestId: string, payload: Buffer): Promise<void> {
    try {
      await transport.publish(renewalReplyTopic(account, clientId, requestId), payload);
    } catch (error) {
      log.warn({ err: error, clientId, requestId }, 'renewal reply not published');
    }
  }

  /** One request, or the 429 it was refused with when it arrived. */
  async function handle(account: string, clientId: string, payload: Buffer, refused: PlatformError | null): Promise<void> {
    let requestId: string | null = null;
    try {
      if (refused) throw refused;
      const message = decodeRenewalRequest(payload, deps.maxMessageBytes);
      requestId = message.requestId;
      const result = await handleRenewalRequest(deps, account, clientId, message);
      if (!result) return;
      // The renewed certificate's record survives a Redis failover before the device is told of it.
      await deps.store.awaitReplication();
      await reply(account, clientId, requestId, renewalReply(deps, result));
      certificateRenewals.inc({ outcome: 'success' });
      log.info({ clientId, requestId }, 'certificate renewed');
    } catch (error) {
      requestId ??= salvageRequestId(payload);
      const platformError = error instanceof ProtocolError ? protocolToPlatformError(error) : toPlatformError(error, log, 'renewal failed');
      log.info({ clientId, requestId, code: platformError.code, detail: platformError.detail }, 'renewal request refused');
      certificateRenewals.inc({ outcome: platformError.code });
      if (requestId) await reply(account, clientId, requestId, errorReply(deps, clientId, requestId, platformError));
    }
  }

  /** Why a request is refused as it arrives (429), before it waits for its device's turn; null to handle it. */
  function refusalOnArrival(device: string): PlatformError | 'ignore' | null {
    // The process's bound first: a request refused because the process is busy must not use up
    // its device's allowance, or a renewal storm would lock devices out for the refill time.
    if (pending.size >= settings.certificateRenewalMaxInFlight) return new PlatformError('OVERLOADED', { retryAfterSeconds: 1 });
    const rate = rateLimit.check(device);
    if (rate.kind === 'ignore') return 'ignore';
    if (rate.kind === 'refuse') {
      return new PlatformError('OVERLOADED', { retryAfterSeconds: rate.retryAfterSeconds, detail: 'too many renewal requests from this device' });
    }
    return null;
  }

  await transport.start([platformRenewalFilter], (topic, payload) => {
    if (closing) return;
    const parsed = parseDeviceTopic(topic);
    if (!parsed || parsed.rest.join('/') !== `${certificateApp}/EXEC/renew`) return;
    const device = `${parsed.account}/${parsed.clientId}`;
    const refused = refusalOnArrival(device);
    if (refused === 'ignore') return;
    const run = () => handle(parsed.account, parsed.clientId, payload, refused);
    // A refusal is answered at once; a request waits for the one of its device being handled.
    const previous = refused ? undefined : deviceTurns.get(device);
    const work = (previous ? previous.then(run, run) : run()).finally(() => {
      pending.delete(work);
      if (deviceTurns.get(device) === work) deviceTurns.delete(device);
    });
    if (!refused) deviceTurns.set(device, work);
    pending.add(work);
    return work;
  });
  return {
    async close() {
      closing = true;
      await Promise.allSettled([...pending]);
      await transport.close();
    },
  };
}
