/**
 * Making CA certificates in memory: a self-signed root, and an issuing CA signed by a root
 * key. Writing them is for the callers (first start, the `npm run ca` commands).
 */
import { randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { issuerFor } from './ca-checks.ts';
import { buildCertificate, clockSkewMs, createIssuer, dayMs, randomSerial, wholeSeconds, type Issuer } from './certificate-builder.ts';
import { readCertificate, type CertificateFields } from './certificate-reader.ts';
import type { Asn1 } from './der.ts';
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

/** A self-signed root CA (10 years). */
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
