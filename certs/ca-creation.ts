/**
 * Making CA certificates in memory: a self-signed root, and an issuing CA signed by a root
 * key. Writing them is for the callers (first start, the `npm run ca` commands).
 */
import { randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { issuerFor } from './ca-checks.ts';
import { buildCertificate, clockSkewMs, createIssuer, dayMs, randomSerial, wholeSeconds, type Issuer } from './certificate-builder.ts';
import { readCertificate, type CertificateFields } from './certificate-reader.ts';
import { toDer, type Asn1 } from './der.ts';
import { generateCaKeyPair, spkiDerOf, type KeyAlgorithm } from './key-pairs.ts';
import { buildName } from './names.ts';
import { issuingCaExtensions, lifetimeDays, platformOrganization, rootCaExtensions } from './profiles.ts';

/** A CA made in memory: its certificate and private key. */
export interface NewCa {
  readonly certificate: X509Certificate;
  readonly fields: CertificateFields;
  readonly certPem: string;
  readonly privateKey: KeyObject;
}

async function createCa(options: {
  role: 'root' | 'issuing';
  keyAlgorithm: KeyAlgorithm;
  extensions: Asn1[];
  /** Signing CA; undefined for the self-signed root. */
  parent?: { issuer: Issuer; notAfter: number };
}): Promise<NewCa> {
  const keys = await generateCaKeyPair(options.keyAlgorithm);
  const now = wholeSeconds(Date.now());
  const subject = buildName({ organization: platformOrganization, commonName: `provisio ${options.role} CA ${randomBytes(4).toString('hex')}` });
  const lifetime = options.role === 'root' ? lifetimeDays.root : lifetimeDays.issuing;
  const built = buildCertificate(
    {
      serial: randomSerial(),
      notBefore: now - clockSkewMs,
      notAfter: Math.min(now + lifetime * dayMs, options.parent?.notAfter ?? Infinity),
      subject,
      subjectPublicKeyInfo: spkiDerOf(keys.publicKey),
      extensions: options.extensions,
    },
    options.parent?.issuer ?? ((keyId) => createIssuer(subject, keyId, keys.privateKey)),
  );
  const certificate = new X509Certificate(built.der);
  return { certificate, fields: readCertificate(built.der), certPem: built.pem, privateKey: keys.privateKey };
}

/** A self-signed root CA (10 years): the first root, and root 2 of a root rollover. */
export function createRootCa(keyAlgorithm: KeyAlgorithm): Promise<NewCa> {
  return createCa({ role: 'root', keyAlgorithm, extensions: rootCaExtensions() });
}

/** An issuing CA (5 years, never beyond the root), pathLen 0, signed by the root's key. */
export function createIssuingCa(keyAlgorithm: KeyAlgorithm, root: { readonly fields: CertificateFields; readonly privateKey: KeyObject }): Promise<NewCa> {
  return createCa({
    role: 'issuing',
    keyAlgorithm,
    extensions: issuingCaExtensions(),
    parent: { issuer: issuerFor(root.fields, root.privateKey), notAfter: root.fields.notAfter },
  });
}

/** A certificate made in memory, without a key of its own. */
export interface NewCertificate {
  readonly certificate: X509Certificate;
  readonly certPem: string;
}

/**
 * The cross certificate of a root rollover: root 2's subject and public key, CA:true, signed by
 * root 1, valid from now until the earlier of both roots' ends. A device that holds only root 1
 * verifies through it what root 2 (and its issuing CA) signs; an issuing CA of root 2 names root
 * 2's key identifier as its authority, which this certificate carries as its own.
 */
export function createCrossCertificate(
  subject: { readonly fields: CertificateFields },
  issuer: { readonly fields: CertificateFields; readonly privateKey: KeyObject },
): NewCertificate {
  const now = wholeSeconds(Date.now());
  const built = buildCertificate(
    {
      serial: randomSerial(),
      notBefore: now - clockSkewMs,
      notAfter: Math.min(subject.fields.notAfter, issuer.fields.notAfter),
      subject: subject.fields.subjectName,
      subjectPublicKeyInfo: toDer(subject.fields.subjectPublicKeyInfo),
      extensions: rootCaExtensions(),
    },
    issuerFor(issuer.fields, issuer.privateKey),
  );
  return { certificate: new X509Certificate(built.der), certPem: built.pem };
}
