import { createHash, X509Certificate } from 'node:crypto';
import { isCaCertificate, readCertificate } from '../certs/certificate-reader.ts';
import type { NewManufacturerCa } from '../store/types.ts';
import { invalid } from './problem.ts';

/**
 * What a manufacturer CA's PEM must be before factory certificates are checked against it: one
 * X.509 certificate, a CA (basicConstraints CA:TRUE), not expired. The store keeps the certificate
 * as it re-encodes it (one PEM block), with its SHA-256 fingerprint, subject and end of validity.
 */

const pemBlock = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

export function readManufacturerCaPem(pem: string, now: number, field = 'body/pem'): Omit<NewManufacturerCa, 'name' | 'enabled'> {
  const blocks = pem.match(pemBlock) ?? [];
  if (blocks.length !== 1) throw invalid(field, `must hold exactly one PEM certificate (found ${blocks.length})`);
  let certificate: X509Certificate;
  let fields: ReturnType<typeof readCertificate>;
  try {
    certificate = new X509Certificate(blocks[0]!);
    fields = readCertificate(certificate.raw);
  } catch {
    throw invalid(field, 'is not a readable X.509 certificate');
  }
  if (!isCaCertificate(fields)) throw invalid(field, 'is not a CA certificate (basicConstraints CA:TRUE)');
  if (fields.notAfter <= now) throw invalid(field, `expired on ${new Date(fields.notAfter).toISOString()}`);
  return {
    pem: certificate.toString(),
    fingerprintSha256: createHash('sha256').update(certificate.raw).digest('hex'),
    subject: certificate.subject,
    notAfter: fields.notAfter,
  };
}

/**
 * A serial as the platform reads it from a certificate (certs/certificate-reader.ts serialHex):
 * lower-case hex of the serial's bytes without leading zero bytes. So '0A:1B', '000a1b' and 'a1b'
 * are all '0a1b', the form blocks and allow/deny lists are compared in.
 */
export function normalizeFactorySerial(typed: string): string {
  const digits = typed.replace(/:/g, '').toLowerCase().replace(/^0+/, '');
  if (digits === '') return '00';
  return digits.length % 2 === 1 ? `0${digits}` : digits;
}
