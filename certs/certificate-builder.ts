/**
 * Builds and signs X.509 v3 certificates: node-forge's ASN.1 module encodes the TBSCertificate,
 * node:crypto signs its DER (ECDSA gives a DER ECDSA-Sig-Value, which is exactly what the
 * signatureValue BIT STRING holds; RSA signs PKCS#1 v1.5).
 */
import { randomBytes, sign, type KeyObject } from 'node:crypto';
import { bitString, embed, explicit, sequence, sequenceOfDer, smallInteger, time, toDer, unsignedInteger, type Asn1 } from './der.ts';
import { authorityKeyIdentifier, keyIdentifierOf, subjectKeyIdentifier } from './extensions.ts';
import { signatureAlgorithmFor, describeKey, type SignatureAlgorithm } from './key-pairs.ts';
import { toPem } from './pem.ts';

/** Everything needed to sign as one CA, prepared once and reused for every certificate. */
export interface Issuer {
  /** The issuer's subject Name, exactly as in its own certificate. */
  readonly name: Asn1;
  readonly keyIdentifier: Buffer;
  readonly privateKey: KeyObject;
  readonly algorithm: SignatureAlgorithm;
  /** The AuthorityKeyIdentifier extension every certificate of this issuer carries. */
  readonly authorityKeyIdentifier: Asn1;
}

export function createIssuer(name: Asn1, keyIdentifier: Buffer, privateKey: KeyObject): Issuer {
  const algorithm = signatureAlgorithmFor(privateKey);
  if (!algorithm) throw new Error(`cannot sign with a ${describeKey(privateKey)} key`);
  return { name, keyIdentifier, privateKey, algorithm, authorityKeyIdentifier: authorityKeyIdentifier(keyIdentifier) };
}

export interface CertificateTemplate {
  /** Positive serial, big-endian (see randomSerial). */
  readonly serial: Buffer;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly subject: Asn1;
  /** SubjectPublicKeyInfo DER, as node:crypto exports it (`{ type: 'spki', format: 'der' }`). */
  readonly subjectPublicKeyInfo: Buffer;
  /** Extensions besides the subject and authority key identifiers, which are always added. */
  readonly extensions: readonly Asn1[];
}

export interface BuiltCertificate {
  readonly der: Buffer;
  readonly pem: string;
  readonly subjectKeyIdentifier: Buffer;
}

/** Signs `tbsDer` and returns SEQUENCE { tbs, signatureAlgorithm, signatureValue }. */
export function signStructure(tbsDer: Buffer, issuer: Issuer): Buffer {
  const signature = sign(issuer.algorithm.hash, tbsDer, issuer.privateKey);
  return sequenceOfDer([tbsDer, issuer.algorithm.derIdentifier, toDer(bitString(signature))]);
}

/**
 * Builds, signs and encodes one certificate. For a self-signed certificate pass a function that
 * makes the issuer from the new certificate's own key identifier.
 */
export function buildCertificate(template: CertificateTemplate, issuer: Issuer | ((subjectKeyIdentifier: Buffer) => Issuer)): BuiltCertificate {
  const spki = embed(template.subjectPublicKeyInfo);
  const keyId = keyIdentifierOf(spki);
  const signer = typeof issuer === 'function' ? issuer(keyId) : issuer;
  const tbs = sequence([
    explicit(0, smallInteger(2)), // v3
    unsignedInteger(template.serial),
    signer.algorithm.identifier,
    signer.name,
    sequence([time(template.notBefore), time(template.notAfter)]),
    template.subject,
    spki,
    explicit(3, sequence([...template.extensions, subjectKeyIdentifier(keyId), signer.authorityKeyIdentifier])),
  ]);
  const der = signStructure(toDer(tbs), signer);
  return { der, pem: toPem('CERTIFICATE', der), subjectKeyIdentifier: keyId };
}

/**
 * 16 random bytes, high bit cleared (a positive INTEGER without a 0x00 pad) and a non-zero
 * first byte (so the DER INTEGER keeps all 16 bytes and prints as 32 hex digits).
 */
export function randomSerial(): Buffer {
  const serial = randomBytes(16);
  serial[0] = (serial[0] as number) & 0x7f || 0x01;
  return serial;
}

/** Lower-case hex of a serial, as node:crypto's X509Certificate.serialNumber prints it. */
export function serialToHex(serial: Buffer): string {
  return serial.toString('hex');
}

/** Certificates start this far in the past so devices with a slightly slow clock accept them. */
export const clockSkewMs = 5 * 60 * 1000;

/** DER times hold whole seconds; rounding first keeps reported times equal to the certificate's. */
export function wholeSeconds(epochMs: number): number {
  return Math.floor(epochMs / 1000) * 1000;
}

export const dayMs = 24 * 60 * 60 * 1000;
