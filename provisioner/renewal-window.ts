import type { IssuedCertificate } from '../store/types.ts';

/**
 * renewal.after and renewal.notAfter of a certificate, told in the provision result and the
 * renewal result (docs/PROTOCOL.md §13, "When to renew"), epoch ms:
 * after = notBefore + share × (notAfter − notBefore).
 */
export function renewalWindow(certificate: Pick<IssuedCertificate, 'notBefore' | 'notAfter'>, share: number): { after: number; notAfter: number } {
  return { after: Math.round(certificate.notBefore + share * (certificate.notAfter - certificate.notBefore)), notAfter: certificate.notAfter };
}
