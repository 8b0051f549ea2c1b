/**
 * Root 2 of a root rollover (docs/OPERATIONS.md, "A new root"), between `npm run ca -- new-root`
 * and `retire-root`: its self-signed certificate (ca/next-root-ca.cert.pem) and the cross
 * certificate root 1 signed for it (ca/next-root-ca.cross.cert.pem). The platform reads both,
 * never root 2's key. Devices that hold root 1 verify through the cross certificate what root 2
 * signs, and learn root 2 from provision and renewal results (PROTOCOL.md §7, "A new root").
 */
import type { X509Certificate } from 'node:crypto';
import path from 'node:path';
import type { Logger } from '../log/logger.ts';
import { checkCaCertificate, invalidCa } from './ca-checks.ts';
import { caFileNames, parseCertificatePem, readCertificateFields, readOptionalFile } from './ca-files.ts';
import type { CertificateFields } from './certificate-reader.ts';
import { toDer } from './der.ts';

/** A loaded root certificate (no key). */
export interface RootCertificate {
  readonly certificate: X509Certificate;
  readonly fields: CertificateFields;
  readonly certPem: string;
}

/** Root 2 and its cross certificate, both checked. */
export interface NextRoot extends RootCertificate {
  /** Root 2's subject and public key, signed by root 1 (PEM). */
  readonly crossPem: string;
  readonly cross: X509Certificate;
}

/**
 * Whether `cross` is a cross certificate for `next`: the same subject and public key, a CA, signed
 * by `root` and within its validity. A defect is CA_MATERIAL_INVALID naming the file.
 */
export function checkCrossCertificate(options: {
  readonly cross: X509Certificate;
  readonly crossFields: CertificateFields;
  readonly crossFile: string;
  readonly next: RootCertificate;
  readonly root: RootCertificate;
  readonly rootFile: string;
}): void {
  const { cross, crossFields, crossFile, next } = options;
  checkCaCertificate({ certificate: cross, fields: crossFields, certFile: crossFile, issuer: options.root.certificate, issuerFile: options.rootFile });
  if (
    !toDer(crossFields.subjectName).equals(toDer(next.fields.subjectName)) ||
    !toDer(crossFields.subjectPublicKeyInfo).equals(toDer(next.fields.subjectPublicKeyInfo))
  ) {
    throw invalidCa(`${crossFile} does not carry the subject and key of ${caFileNames.nextRootCert}`);
  }
}

/**
 * Root 2 and its cross certificate when a root rollover is under way, else null. Root 2 must be a
 * self-signed CA in its validity, and the cross certificate must vouch for exactly it under `root`.
 * A next root equal to the root is what an interrupted `retire-root` leaves: none (run it again).
 */
export async function loadNextRoot(directory: string, root: RootCertificate, log: Logger): Promise<NextRoot | null> {
  const certFile = path.join(directory, caFileNames.nextRootCert);
  const crossFile = path.join(directory, caFileNames.nextRootCross);
  const certText = await readOptionalFile(certFile);
  if (certText === undefined) return null;
  const certificate = parseCertificatePem(certText, certFile);
  if (certificate.fingerprint256 === root.certificate.fingerprint256) {
    log.warn({ file: certFile }, 'the next root is already the root (an interrupted retire-root): run npm run ca -- retire-root again');
    return null;
  }
  const fields = readCertificateFields(certificate, certFile);
  checkCaCertificate({ certificate, fields, certFile, issuer: certificate, issuerFile: certFile });
  const crossText = await readOptionalFile(crossFile);
  if (crossText === undefined) throw invalidCa(`${certFile} exists but its cross certificate ${crossFile} is missing; run npm run ca -- new-root again`);
  const cross = parseCertificatePem(crossText, crossFile);
  const next = { certificate, fields, certPem: certificate.toString() };
  checkCrossCertificate({
    cross,
    crossFields: readCertificateFields(cross, crossFile),
    crossFile,
    next,
    root,
    rootFile: path.join(directory, caFileNames.rootCert),
  });
  return { ...next, crossPem: cross.toString(), cross };
}
