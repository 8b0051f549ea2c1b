/** Object identifiers used by the certificate authority. */
import { messageSigningPurposeOid } from '../protocol/signing.ts';

export const Oid = {
  commonName: '2.5.4.3',
  organizationName: '2.5.4.10',

  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  subjectAltName: '2.5.29.17',
  crlNumber: '2.5.29.20',
  crlDistributionPoints: '2.5.29.31',

  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  /** Our own: the message-signing certificate and nothing else (docs/PROTOCOL.md §7). */
  messageSigning: messageSigningPurposeOid,

  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  sha384WithRsa: '1.2.840.113549.1.1.12',
  sha512WithRsa: '1.2.840.113549.1.1.13',
} as const;
