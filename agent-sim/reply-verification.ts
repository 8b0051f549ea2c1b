import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { decodeProvisionResult, type ProvisionResult, type ReplyMessage } from '../protocol/messages.ts';
import { verifyBodySignature } from '../protocol/signing.ts';
import { configurationHash } from '../protocol/configuration-hash.ts';
import { ChainVerifier } from '../protocol/chain-verifier.ts';

export class UntrustedReplyError extends Error {
  override readonly name = 'UntrustedReplyError';
}

/** One per process: the devices of a fleet share what they all receive (root, issuing CA, signer). */
const chains = new ChainVerifier();

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

/**
 * The order of docs/PROTOCOL.md §7: chain to the root the device already holds (with
 * ca-authentication), then the signature over the exact body bytes, then the content.
 */
export function verifyProvisionReply(
  reply: ReplyMessage,
  options: { trustedRootPem: string; caAuthentication: boolean; clientId: string; /** The device's key (private or public) when it sent a CSR. */ devicePublicKey?: KeyObject },
): ProvisionResult {
  if (!reply.body || !reply.signature || !reply.signatureAlgorithm) throw new UntrustedReplyError('reply is not signed');
  let untrusted: ProvisionResult;
  try {
    untrusted = decodeProvisionResult(reply.body);
  } catch (error) {
    throw new UntrustedReplyError(`reply body is not a provision result: ${(error as Error).message}`);
  }
  const { signing, chain, client } = untrusted.certificates;
  // Parsed once for the chain check and the key check; a PEM that cannot be parsed is reported by either.
  let clientCertificate: X509Certificate | undefined;
  try {
    clientCertificate = new X509Certificate(client);
  } catch {
    clientCertificate = undefined;
  }
  if (options.caAuthentication) {
    const signerCheck = chains.check(signing, chain, options.trustedRootPem);
    if (!signerCheck.ok) throw new UntrustedReplyError(`signing certificate not trusted: ${signerCheck.reason}`);
    const clientCheck = chains.check(clientCertificate ?? client, chain, options.trustedRootPem);
    if (!clientCheck.ok) throw new UntrustedReplyError(`client certificate not trusted: ${clientCheck.reason}`);
  }
  // The signing certificate is parsed once per fleet (chains), not once per device.
  if (!verifyBodySignature(reply.body, reply.signature, reply.signatureAlgorithm, chains.certificate(signing))) {
    throw new UntrustedReplyError('signature does not verify with the signing certificate');
  }
  const result = untrusted;
  if (result.clientId !== options.clientId) throw new UntrustedReplyError('reply is for another clientId');
  if (configurationHash(result.configuration.content) !== result.configuration.sha256) {
    throw new UntrustedReplyError('configuration does not match its sha256');
  }
  if (!certifiesDeviceKey(clientCertificate ?? new X509Certificate(client), result, options.devicePublicKey)) {
    throw new UntrustedReplyError('client certificate is not for the device key');
  }
  return result;
}
