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
export function verifyBodySignature(
  body: Buffer,
  signature: string,
  algorithm: SignatureAlgorithm,
  signingCertificate: string | X509Certificate,
): boolean {
  const key = (typeof signingCertificate === 'string' ? new X509Certificate(signingCertificate) : signingCertificate).publicKey;
  if (signatureAlgorithmOf(key) !== algorithm) return false;
  try {
    return verify('sha256', body, key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
