/**
 * What every CA certificate the platform loads must satisfy, generated or the operator's: a CA,
 * in its validity, signed by its issuer, and (for the one that signs) with its own private key.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import { PlatformError } from '../errors/platform-error.ts';
import { clockSkewMs, createIssuer, type Issuer } from './certificate-builder.ts';
import { subjectKeyIdentifierOf, type CertificateFields } from './certificate-reader.ts';
import { keyIdentifierOf } from './extensions.ts';
import { describeKey, keysMatch, signatureAlgorithmFor } from './key-pairs.ts';

export function invalidCa(detail: string): PlatformError {
  return new PlatformError('CA_MATERIAL_INVALID', { detail });
}

/** Everything needed to sign as this CA, prepared once. */
export function issuerFor(fields: CertificateFields, privateKey: KeyObject): Issuer {
  const keyId = subjectKeyIdentifierOf(fields) ?? keyIdentifierOf(fields.subjectPublicKeyInfo);
  return createIssuer(fields.subjectName, keyId, privateKey);
}

/** A CA certificate, in its validity, signed by `issuer` (itself for a root). */
export function checkCaCertificate(options: {
  certificate: X509Certificate;
  fields: CertificateFields;
  certFile: string;
  issuer: X509Certificate;
  issuerFile: string;
}): void {
  const { certificate, fields, certFile } = options;
  if (!certificate.ca) throw invalidCa(`${certFile} is not a CA certificate (basicConstraints CA:false)`);
  if (!certificate.checkIssued(options.issuer) || !certificate.verify(options.issuer.publicKey)) {
    throw invalidCa(`${certFile} is not signed by ${options.issuerFile}`);
  }
  const now = Date.now();
  if (fields.notAfter <= now) throw invalidCa(`${certFile} expired on ${new Date(fields.notAfter).toISOString()}`);
  if (fields.notBefore > now + clockSkewMs) throw invalidCa(`${certFile} is not valid before ${new Date(fields.notBefore).toISOString()}`);
}

/** Checks a CA certificate with its key (and issuer): CA flag, key pair, signature, validity. */
export function checkCa(options: {
  certificate: X509Certificate;
  fields: CertificateFields;
  certFile: string;
  privateKey: KeyObject;
  keyFile: string;
  issuer: X509Certificate;
  issuerFile: string;
}): void {
  const { certificate, certFile } = options;
  if (!certificate.ca) throw invalidCa(`${certFile} is not a CA certificate (basicConstraints CA:false)`);
  if (!keysMatch(options.privateKey, certificate.publicKey)) throw invalidCa(`${options.keyFile} is not the private key of ${certFile}`);
  if (!signatureAlgorithmFor(options.privateKey)) {
    throw invalidCa(`${options.keyFile}: cannot sign with a ${describeKey(options.privateKey)} key (EC P-256/384/521 or RSA 2048+)`);
  }
  checkCaCertificate(options);
}
