import { sign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import type { SignatureAlgorithm } from './messages.ts';

/**
 * Detached signatures over the exact bytes of a reply body: SHA-256 with ECDSA (DER-encoded
 * ECDSA-Sig-Value) or RSA PKCS#1 v1.5, base64 in the `signature` metric.
 */
export function signatureAlgorithmOf(key: KeyObject): SignatureAlgorithm {
  return key.asymmetricKeyType === 'rsa' ? 'SHA256withRSA' : 'SHA256withECDSA';
}

export function signBody(body: Buffer, privateKey: KeyObject): { signature: string; algorithm: SignatureAlgorithm } {
  return { signature: sign('sha256', body, privateKey).toString('base64'), algorithm: signatureAlgorithmOf(privateKey) };
}

/** The signing certificate may be given parsed (a fleet parses it once for all its devices). */
export function verifyBodySignature(body: Buffer, signature: string, algorithm: SignatureAlgorithm, signingCertificate: string | X509Certificate): boolean {
  const key = (typeof signingCertificate === 'string' ? new X509Certificate(signingCertificate) : signingCertificate).publicKey;
  if (signatureAlgorithmOf(key) !== algorithm) return false;
  try {
    return verify('sha256', body, key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/**
 * The extended key usage that marks the platform's message-signing certificate, and no other
 * certificate it issues (devices get clientAuth, brokers serverAuth). An OID under 2.25 (a UUID,
 * ITU-T X.667), so it needs no registration. PROTOCOL.md §7: an agent MUST refuse a body whose
 * signing certificate lacks it, or a device's own certificate could sign replies.
 */
export const messageSigningPurposeOid = '2.25.128152562290709719911594466647323674875';

/** Extended key usages of a certificate: `extKeyUsage` on newer Node, `keyUsage` on Node 20. */
export function extendedKeyUsagesOf(certificate: X509Certificate): readonly string[] {
  const withNewName = certificate as X509Certificate & { readonly extKeyUsage?: string[] };
  return withNewName.extKeyUsage ?? certificate.keyUsage ?? [];
}

/** Is this the platform's message signer: an end-entity certificate with the signing purpose? */
export function isMessageSigningCertificate(certificate: X509Certificate): boolean {
  return !certificate.ca && extendedKeyUsagesOf(certificate).includes(messageSigningPurposeOid);
}
