import type { IssuedCertificate } from '../store/types.ts';

/**
 * renewal.after and renewal.notAfter of a certificate, told in the provision result and the
 * renewal result (docs/PROTOCOL.md §13, "When to renew"), epoch ms:
 * after = issuedOn + share × (notAfter − issuedOn), issuedOn being the result's `issuedOn` (when
 * the certificate was recorded). Counted from notBefore instead, the 5 minutes a certificate is
 * backdated for clock skew would put the window in the past for certificates of a few minutes.
 */
export function renewalWindow(certificate: Pick<IssuedCertificate, 'createdOn' | 'notAfter'>, share: number): { after: number; notAfter: number } {
  const issuedOn = Math.min(certificate.createdOn, certificate.notAfter);
  return { after: Math.round(issuedOn + share * (certificate.notAfter - issuedOn)), notAfter: certificate.notAfter };
}
