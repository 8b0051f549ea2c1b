/**
 * The platform's own end-entity certificates, signed by the issuing CA and kept under
 * {dataDir}/ca: the brokers' TLS server certificate and the message-signing certificate.
 * They are derived material: when one no longer fits (another issuing CA, changed host names,
 * near expiry, another key algorithm) it is simply issued again.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import path from 'node:path';
import type { Logger } from '../log/logger.ts';
import {
  caFileNames,
  isEncryptedKeyPem,
  parseCertificatePem,
  parsePrivateKeyPem,
  privateKeyFilePem,
  readCertificateFields,
  readOptionalFile,
  writeCredentialFiles,
  writeKeyFile,
} from './ca-files.ts';
import { buildCertificate, clockSkewMs, dayMs, randomSerial, wholeSeconds, type Issuer } from './certificate-builder.ts';
import { extendedKeyUsagesOf, type CertificateFields } from './certificate-reader.ts';
import { toDer, type Asn1 } from './der.ts';
import { subjectAltNameValue } from './extensions.ts';
import { generateCaKeyPair, keysMatch, privateKeyToPem, spkiDerOf, type KeyAlgorithm } from './key-pairs.ts';
import { buildName, type NameFields } from './names.ts';
import { Oid } from './oids.ts';
import { leafRenewalDays, lifetimeDays, platformOrganization, serverExtensions, serverNames, signingCommonName, signingExtensions } from './profiles.ts';

/** A certificate with its private key, parsed and as PEM (keyPem unencrypted: in memory only, for TLS and signing). */
export interface Credential {
  readonly certificate: X509Certificate;
  readonly fields: CertificateFields;
  readonly certPem: string;
  readonly privateKey: KeyObject;
  readonly keyPem: string;
}

interface LeafProfile {
  readonly role: 'server' | 'signing';
  readonly names: { readonly cert: string; readonly key: string };
  readonly subject: NameFields;
  readonly lifetimeDays: number;
  readonly extensions: (key: KeyObject) => Asn1[];
  /** Why an otherwise good certificate must be reissued, if it must. */
  readonly outdated?: (fields: CertificateFields) => string | undefined;
}

interface LeafContext {
  readonly directory: string;
  readonly keyAlgorithm: KeyAlgorithm;
  readonly issuing: { readonly certificate: X509Certificate; readonly fields: CertificateFields; readonly issuer: Issuer };
  /** Keys are written encrypted with it, and read with it. */
  readonly passphrase?: string;
  /** Reissue when fewer days than this remain (default leafRenewalDays). */
  readonly renewalDays?: number;
  readonly log: Logger;
}

/** Whether a certificate ending at `notAfter` has fewer than the renewal margin's days left. */
export function leafRenewalDue(notAfter: number, renewalDays = leafRenewalDays): boolean {
  return notAfter - Date.now() < renewalDays * dayMs;
}

function reissueReason(credential: Credential, profile: LeafProfile, context: LeafContext): string | undefined {
  const { certificate, fields, privateKey } = credential;
  const issuing = context.issuing.certificate;
  if (!certificate.checkIssued(issuing) || !certificate.verify(issuing.publicKey)) return 'not issued by the current issuing CA';
  if (!keysMatch(privateKey, certificate.publicKey)) return 'the key file does not match the certificate';
  if (privateKey.asymmetricKeyType !== context.keyAlgorithm) return `certKeyAlgorithm is now ${context.keyAlgorithm}`;
  if (leafRenewalDue(fields.notAfter, context.renewalDays)) return 'it expires soon';
  return profile.outdated?.(fields);
}

async function issueLeaf(profile: LeafProfile, context: LeafContext): Promise<{ certPem: string; privateKey: KeyObject }> {
  const keys = await generateCaKeyPair(context.keyAlgorithm);
  const now = wholeSeconds(Date.now());
  const built = buildCertificate(
    {
      serial: randomSerial(),
      notBefore: now - clockSkewMs,
      notAfter: Math.min(now + profile.lifetimeDays * dayMs, context.issuing.fields.notAfter),
      subject: buildName(profile.subject),
      subjectPublicKeyInfo: spkiDerOf(keys.publicKey),
      extensions: profile.extensions(keys.privateKey),
    },
    context.issuing.issuer,
  );
  return { certPem: built.pem, privateKey: keys.privateKey };
}

function readCredential(certPem: string, privateKey: KeyObject, certFile: string): Credential {
  const certificate = parseCertificatePem(certPem, certFile);
  return {
    certificate,
    fields: readCertificateFields(certificate, certFile),
    certPem: certificate.toString(),
    privateKey,
    keyPem: privateKeyToPem(privateKey),
  };
}

async function loadOrIssueLeaf(profile: LeafProfile, context: LeafContext): Promise<Credential> {
  const certFile = path.join(context.directory, profile.names.cert);
  const keyFile = path.join(context.directory, profile.names.key);
  const certPem = await readOptionalFile(certFile);
  const keyText = await readOptionalFile(keyFile);
  let reason = 'it does not exist yet';
  if (certPem !== undefined && keyText !== undefined) {
    const existing = readCredential(certPem, parsePrivateKeyPem(keyText, keyFile, context.passphrase), certFile);
    const outdated = reissueReason(existing, profile, context);
    if (outdated === undefined) {
      if (context.passphrase !== undefined && !isEncryptedKeyPem(keyText)) {
        await writeKeyFile(keyFile, privateKeyFilePem(existing.privateKey, context.passphrase));
        context.log.info({ file: keyFile }, `encrypted the ${profile.role} key with the passphrase`);
      }
      context.log.info({ file: certFile, fingerprint: existing.certificate.fingerprint256 }, `loaded ${profile.role} certificate`);
      return existing;
    }
    reason = outdated;
  }
  const fresh = await issueLeaf(profile, context);
  await writeCredentialFiles(context.directory, profile.names, { certPem: fresh.certPem, keyPem: privateKeyFilePem(fresh.privateKey, context.passphrase) });
  const issued = readCredential(fresh.certPem, fresh.privateKey, certFile);
  context.log.info({ file: certFile, fingerprint: issued.certificate.fingerprint256, reason }, `issued ${profile.role} certificate`);
  return issued;
}

/** The first configured host name (CN is limited to 64 characters; SANs are what TLS checks). */
function serverCommonName(hostnames: readonly string[]): string {
  const first = hostnames[0];
  return first !== undefined && first.length <= 64 ? first : 'localhost';
}

export async function loadOrIssueLeaves(
  context: LeafContext & { readonly hostnames: readonly string[] },
): Promise<{ server: Credential; signing: Credential }> {
  const names = serverNames(context.hostnames);
  const wantedAltNames = toDer(subjectAltNameValue(names));
  const server = await loadOrIssueLeaf(
    {
      role: 'server',
      names: { cert: caFileNames.serverCert, key: caFileNames.serverKey },
      subject: { organization: platformOrganization, commonName: serverCommonName(context.hostnames) },
      lifetimeDays: lifetimeDays.server,
      extensions: (key) => serverExtensions(key, names),
      outdated: (fields) => (fields.extensions.get(Oid.subjectAltName)?.value.equals(wantedAltNames) ? undefined : 'the host names changed'),
    },
    context,
  );
  const signing = await loadOrIssueLeaf(
    {
      role: 'signing',
      names: { cert: caFileNames.signingCert, key: caFileNames.signingKey },
      subject: { organization: platformOrganization, commonName: signingCommonName },
      lifetimeDays: lifetimeDays.signing,
      extensions: () => signingExtensions(),
      // Signing certificates of earlier versions lack the purpose agents now check.
      outdated: (fields) => (extendedKeyUsagesOf(fields).includes(Oid.messageSigning) ? undefined : 'it lacks the message-signing purpose'),
    },
    context,
  );
  return { server, signing };
}
