import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import {
  decodeProvisionResult,
  decodeReplyStatement,
  type ProvisionResult,
  type ReplyMessage,
  type ReplyStatement,
  type SignedDocument,
} from '../protocol/messages.ts';
import { isMessageSigningCertificate, verifyBodySignature } from '../protocol/signing.ts';
import { configurationHash } from '../protocol/configuration-hash.ts';
import { ChainVerifier } from '../protocol/chain-verifier.ts';
import type { ChainCheck } from '../protocol/certificate-chain.ts';
import { decodeRenewalResult, type RenewalResult, type RenewNowCommand } from '../protocol/renewal.ts';
import { decodeJobDocument, type JobCommand, type JobDocument } from '../protocol/jobs.ts';
import { decodeConfigurationPushBody, type ConfigurationPushBody } from '../protocol/configuration.ts';
import type { ConfigurationPush } from '../protocol/messages.ts';

export class UntrustedReplyError extends Error {
  override readonly name = 'UntrustedReplyError';
}

/** One per process: the devices of a fleet share what they all receive (root, issuing CA, signer). */
const chains = new ChainVerifier();

export interface TrustOptions {
  /** The root the device was given at the factory. */
  readonly trustedRootPem: string;
  /**
   * Roots learnt since (PROTOCOL.md §7, "A new root"), trusted beside it: a chain that reaches
   * any of them is trusted. The device state's own array (DeviceState.learntRoots), which grows.
   */
  readonly learntRootPems?: readonly string[];
  /** Check the signer's chain up to the root held by the device (default on; off, a signature proves nothing). */
  readonly caAuthentication: boolean;
  /** The device's own clientId, and the request.id it sent: a body naming others is refused. */
  readonly clientId: string;
  readonly requestId: string;
  /** The device's clock (default: Date.now()); see trustedTime. */
  readonly now?: Date;
}

/**
 * The time for certificate validity (PROTOCOL.md §7). A device whose clock is earlier than the
 * notBefore of the root it holds has no clock yet: it judges expiry at that notBefore (a lower
 * bound of the real time) and cannot judge notBefore at all (every certificate issued since
 * would look "not yet valid").
 */
export function trustedTime(trustedRootPem: string, clock: number = Date.now()): { readonly now: Date; readonly clockUnset: boolean } {
  const rootNotBefore = new Date(chains.certificate(trustedRootPem).validFrom).getTime();
  return clock < rootNotBefore ? { now: new Date(rootNotBefore), clockUnset: true } : { now: new Date(clock), clockUnset: false };
}

/** The chain reaches one of the roots the device holds (the factory's first); the factory root's reason otherwise. */
function checkChainNow(leaf: string | X509Certificate, chain: readonly string[], options: TrustOptions): ChainCheck {
  let first: ChainCheck | undefined;
  for (const rootPem of [options.trustedRootPem, ...(options.learntRootPems ?? [])]) {
    const time = trustedTime(rootPem, options.now?.getTime());
    const check = chains.check(leaf, chain, rootPem, time.now, time.clockUnset);
    if (check.ok) return check;
    first ??= check;
  }
  return first ?? { ok: false, reason: 'no root is held' };
}

/**
 * The checks of PROTOCOL.md §7 common to every signed body, in its order: chain of the signer to
 * the held root (ca-authentication), the signer's purpose, the signature over the exact bytes,
 * then the exchange the body names. Returns the document, trusted from then on.
 */
function verifySignedBody<T extends SignedDocument>(reply: ReplyMessage, options: TrustOptions, decode: (body: Buffer) => T): T {
  if (!reply.body || !reply.signature || !reply.signatureAlgorithm) throw new UntrustedReplyError('reply is not signed');
  let untrusted: T;
  try {
    untrusted = decode(reply.body);
  } catch (error) {
    throw new UntrustedReplyError(`reply body is not readable: ${(error as Error).message}`);
  }
  const { signing, chain } = untrusted.certificates;
  if (options.caAuthentication) {
    const signerCheck = checkChainNow(signing, chain, options);
    if (!signerCheck.ok) throw new UntrustedReplyError(`signing certificate not trusted: ${signerCheck.reason}`);
  }
  let signer: X509Certificate;
  try {
    signer = chains.certificate(signing);
  } catch {
    throw new UntrustedReplyError('signing certificate cannot be parsed');
  }
  if (!isMessageSigningCertificate(signer)) {
    throw new UntrustedReplyError('signing certificate is not the platform message signer (no message-signing purpose)');
  }
  // The signing certificate is parsed once per fleet (chains), not once per device.
  if (!verifyBodySignature(reply.body, reply.signature, reply.signatureAlgorithm, signer)) {
    throw new UntrustedReplyError('signature does not verify with the signing certificate');
  }
  if (untrusted.clientId !== options.clientId) throw new UntrustedReplyError('reply is for another clientId');
  if (untrusted.requestId !== options.requestId || reply.requestId !== options.requestId) {
    throw new UntrustedReplyError('reply answers another request.id');
  }
  return untrusted;
}

function spki(key: KeyObject | string): Buffer {
  // createPublicKey refuses a KeyObject that is already public.
  const publicKey = typeof key !== 'string' && key.type === 'public' ? key : createPublicKey(key);
  return publicKey.export({ type: 'spki', format: 'der' });
}

/** Is the client certificate for the device's key (its own, or the one the platform generated)? */
function certifiesDeviceKey(certificate: X509Certificate, result: ProvisionResult, deviceKey: KeyObject | undefined): boolean {
  // A private key is compared in one OpenSSL call instead of two DER exports.
  if (deviceKey?.type === 'private') return certificate.checkPrivateKey(deviceKey);
  const expected = deviceKey ? spki(deviceKey) : result.certificates.clientKey ? spki(result.certificates.clientKey) : null;
  return expected !== null && certificate.publicKey.export({ type: 'spki', format: 'der' }).equals(expected);
}

/** A 200 to a provision request: §7's checks, then the client certificate and the configuration. */
export function verifyProvisionReply(
  reply: ReplyMessage,
  options: TrustOptions & { /** The device's key (private or public) when it sent a CSR. */ readonly devicePublicKey?: KeyObject },
): ProvisionResult {
  const result = verifySignedBody(reply, options, decodeProvisionResult);
  let clientCertificate: X509Certificate;
  try {
    clientCertificate = new X509Certificate(result.certificates.client);
  } catch {
    throw new UntrustedReplyError('client certificate cannot be parsed');
  }
  if (options.caAuthentication) {
    const clientCheck = checkChainNow(clientCertificate, result.certificates.chain, options);
    if (!clientCheck.ok) throw new UntrustedReplyError(`client certificate not trusted: ${clientCheck.reason}`);
  }
  if (configurationHash(result.configuration.content) !== result.configuration.sha256) {
    throw new UntrustedReplyError('configuration does not match its sha256');
  }
  if (!certifiesDeviceKey(clientCertificate, result, options.devicePublicKey)) {
    throw new UntrustedReplyError('client certificate is not for the device key');
  }
  return result;
}

/** Any other reply (an error, the answer to a completion report): §7's checks, and the code it states. */
export function verifyReplyStatement(reply: ReplyMessage, options: TrustOptions): ReplyStatement {
  const statement = verifySignedBody(reply, options, decodeReplyStatement);
  // The metrics an agent acts on must be the signed ones (a delay rewritten on the path would park it).
  if (statement.responseCode !== reply.responseCode) throw new UntrustedReplyError('response.code is not the signed one');
  if (statement.retryAfterSeconds !== reply.retryAfterSeconds) throw new UntrustedReplyError('retry.after.seconds is not the signed one');
  if (statement.message !== reply.message) throw new UntrustedReplyError('response.exception.message is not the signed one');
  return statement;
}

/** Either kind, by its response.code: throws UntrustedReplyError when it cannot be trusted. */
export function verifyReply(
  reply: ReplyMessage,
  options: TrustOptions & { readonly devicePublicKey?: KeyObject },
  kind: 'provision' | 'complete',
): ProvisionResult | ReplyStatement {
  return kind === 'provision' && reply.responseCode === 200 ? verifyProvisionReply(reply, options) : verifyReplyStatement(reply, options);
}

/**
 * A 200 to a renewal request (CERT-V1): §7's checks, then the new certificate: it must be for the
 * new key the device holds (its private key: one OpenSSL call), for this device and account, and
 * chain to the trusted root through the chain received (always: the device is about to use it).
 */
export function verifyRenewalReply(reply: ReplyMessage, options: TrustOptions & { readonly account: string; readonly newKey: KeyObject }): RenewalResult {
  const result = verifySignedBody(reply, options, decodeRenewalResult);
  if (result.account !== options.account) throw new UntrustedReplyError('renewal result is for another account');
  let clientCertificate: X509Certificate;
  try {
    clientCertificate = new X509Certificate(result.certificates.client);
  } catch {
    throw new UntrustedReplyError('client certificate cannot be parsed');
  }
  const clientCheck = checkChainNow(clientCertificate, result.certificates.chain, options);
  if (!clientCheck.ok) throw new UntrustedReplyError(`client certificate not trusted: ${clientCheck.reason}`);
  if (!clientCertificate.checkPrivateKey(options.newKey)) throw new UntrustedReplyError('client certificate is not for the new key');
  // A certificate holds whole seconds.
  if (Math.abs(result.renewal.notAfter - new Date(clientCertificate.validTo).getTime()) >= 1000) {
    throw new UntrustedReplyError("renewal.notAfter is not the new certificate's notAfter");
  }
  return result;
}

/** "Renew now" (CERT-V1 PUT/renew): §7's checks of its signed statement, which must name this command's request.id and say 200. */
export function verifyRenewNow(command: RenewNowCommand, options: Omit<TrustOptions, 'requestId'>): ReplyStatement {
  const reply: ReplyMessage = {
    sentOn: command.sentOn,
    requestId: command.requestId,
    responseCode: 200,
    signature: command.signature,
    signatureAlgorithm: command.signatureAlgorithm,
    body: command.body,
  };
  const statement = verifySignedBody(reply, { ...options, requestId: command.requestId }, decodeReplyStatement);
  if (statement.responseCode !== 200) throw new UntrustedReplyError('renew-now statement does not say 200');
  return statement;
}

/**
 * A job command (JOB-V1 PUT/job): §7's checks of its signed job document, which must name this
 * command's request.id; a configuration it carries must match its sha256. Bundles are checked
 * against their sha256 when downloaded.
 */
export function verifyJobCommand(command: JobCommand, options: Omit<TrustOptions, 'requestId'>): JobDocument {
  const reply: ReplyMessage = {
    sentOn: command.sentOn,
    requestId: command.requestId,
    responseCode: 200,
    signature: command.signature,
    signatureAlgorithm: command.signatureAlgorithm,
    body: command.body,
  };
  const document = verifySignedBody(reply, { ...options, requestId: command.requestId }, decodeJobDocument);
  if (document.configuration && configurationHash(document.configuration.content) !== document.configuration.sha256) {
    throw new UntrustedReplyError('configuration does not match its sha256');
  }
  return document;
}

/**
 * A CONF-V1 configuration push (docs/PROTOCOL.md §14): §7 steps 1–6, `requestId` the push's own
 * request.id, then `sha256` must be the hash of `content`.
 */
export function verifyConfigurationPush(push: ConfigurationPush, options: Omit<TrustOptions, 'requestId'>): ConfigurationPushBody {
  const reply: ReplyMessage = {
    sentOn: push.sentOn,
    requestId: push.requestId,
    responseCode: 200,
    signature: push.signature,
    signatureAlgorithm: push.signatureAlgorithm,
    body: push.body,
  };
  const document = verifySignedBody(reply, { ...options, requestId: push.requestId }, decodeConfigurationPushBody);
  if (configurationHash(document.content) !== document.sha256) throw new UntrustedReplyError('configuration does not match its sha256');
  return document;
}
