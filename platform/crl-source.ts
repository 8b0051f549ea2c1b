import type { CertificateAuthority } from '../certs/certificate-authority.ts';
import type { ProvisionStore } from '../store/types.ts';

/** The current CRL, signed by the issuing CA, from the revocations in the store. */
export function crlSource(ca: CertificateAuthority, store: ProvisionStore): () => Promise<string> {
  return async () => {
    const revoked = await store.listRevokedCertificates();
    return ca.createCrl(revoked.map((certificate) => ({ serial: certificate.serial, revokedOn: certificate.revokedOn ?? certificate.createdOn })));
  };
}
