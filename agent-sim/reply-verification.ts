import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { checkChain } from '../protocol/certificate-chain.ts';
import { decodeProvisionResult, type ProvisionResult, type ReplyMessage } from '../protocol/messages.ts';
import { verifyBodySignature } from '../protocol/signing.ts';
import { configurationHash } from '../protocol/configuration-hash.ts';

export class UntrustedReplyError extends Error {
  override readonly name = 'UntrustedReplyError';
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
  if (options.caAuthentication) {
    const signerCheck = checkChain(signing, chain, options.trustedRootPem);
    if (!signerCheck.ok) throw new UntrustedReplyError(`signing certificate not trusted: ${signerCheck.reason}`);
    const clientCheck = checkChain(client, chain, options.trustedRootPem);
    if (!clientCheck.ok) throw new UntrustedReplyError(`client certificate not trusted: ${clientCheck.reason}`);
  }
  if (!verifyBodySignature(reply.body, reply.signature, reply.signatureAlgorithm, signing)) {
    throw new UntrustedReplyError('signature does not verify with the signing certificate');
  }
  const result = untrusted;
  if (result.clientId !== options.clientId) throw new UntrustedReplyError('reply is for another clientId');
  if (configurationHash(result.configuration.content) !== result.configuration.sha256) {
    throw new UntrustedReplyError('configuration does not match its sha256');
  }
  const certificateKey = new X509Certificate(client).publicKey.export({ type: 'spki', format: 'der' });
  const expectedKey = options.devicePublicKey
    ? createPublicKey(options.devicePublicKey).export({ type: 'spki', format: 'der' })
    : result.certificates.clientKey
      ? createPublicKey(result.certificates.clientKey).export({ type: 'spki', format: 'der' })
      : null;
  if (!expectedKey || !certificateKey.equals(expectedKey)) {
    throw new UntrustedReplyError('client certificate is not for the device key');
  }
  return result;
}
