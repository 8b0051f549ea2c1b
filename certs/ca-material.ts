/**
 * Creates the CA on first start, loads it afterwards: root and issuing CA (generated, or
 * supplied by the operator), the brokers' server certificate and the message-signing
 * certificate. Everything loaded is checked; a defect is CA_MATERIAL_INVALID naming the file.
 */
import { randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import path from 'node:path';
import { PlatformError } from '../errors/platform-error.ts';
import type { Logger } from '../log/logger.ts';
import {
  caFileNames,
  ensureCaDirectory,
  parseCertificatePem,
  parsePrivateKeyPem,
  readCertificateFields,
  readOptionalFile,
  readRequiredFile,
  writeCredentialFiles,
} from './ca-files.ts';
import { buildCertificate, clockSkewMs, createIssuer, dayMs, randomSerial, wholeSeconds, type Issuer } from './certificate-builder.ts';
import { subjectKeyIdentifierOf, type CertificateFields } from './certificate-reader.ts';
import type { Asn1 } from './der.ts';
import { keyIdentifierOf } from './extensions.ts';
import { describeKey, generateCaKeyPair, keysMatch, privateKeyToPem, signatureAlgorithmFor, spkiDerOf, type KeyAlgorithm } from './key-pairs.ts';
import { buildName, type NameFields } from './names.ts';
import { issuingCaExtensions, lifetimeDays, platformOrganization, rootCaExtensions } from './profiles.ts';
import { loadOrIssueLeaves, type Credential } from './leaf-material.ts';

export interface OperatorCaFiles {
  readonly rootCertFile: string;
  readonly issuingCertFile: string;
  readonly issuingKeyFile: string;
}

export interface CaMaterialOptions {
  readonly dataDir: string;
  readonly keyAlgorithm: KeyAlgorithm;
  readonly hostnames: readonly string[];
  readonly operatorCa?: OperatorCaFiles;
  readonly log: Logger;
}

export interface IssuingCa extends Credential {
  readonly issuer: Issuer;
}

export interface CaMaterial {
  readonly root: { readonly certificate: X509Certificate; readonly certPem: string };
  readonly issuing: IssuingCa;
  readonly server: Credential;
  readonly signing: Credential;
  readonly operatorSupplied: boolean;
}

function invalid(detail: string): PlatformError {
  return new PlatformError('CA_MATERIAL_INVALID', { detail });
}

/** Everything needed to sign as this CA, prepared once. */
export function issuerFor(fields: CertificateFields, privateKey: KeyObject): Issuer {
  const keyId = subjectKeyIdentifierOf(fields) ?? keyIdentifierOf(fields.subjectPublicKeyInfo);
  return createIssuer(fields.subjectName, keyId, privateKey);
}

/** Checks a CA certificate with its key (and issuer): CA flag, key pair, signature, validity. */
function checkCa(options: {
  certificate: X509Certificate;
  fields: CertificateFields;
  certFile: string;
  privateKey: KeyObject;
  keyFile: string;
  issuer: X509Certificate;
  issuerFile: string;
}): void {
  const { certificate, fields, certFile } = options;
  if (!certificate.ca) throw invalid(`${certFile} is not a CA certificate (basicConstraints CA:false)`);
  if (!keysMatch(options.privateKey, certificate.publicKey)) throw invalid(`${options.keyFile} is not the private key of ${certFile}`);
  if (!signatureAlgorithmFor(options.privateKey)) {
    throw invalid(`${options.keyFile}: cannot sign with a ${describeKey(options.privateKey)} key (EC P-256/384/521 or RSA 2048+)`);
  }
  if (!certificate.checkIssued(options.issuer) || !certificate.verify(options.issuer.publicKey)) {
    throw invalid(`${certFile} is not signed by ${options.issuerFile}`);
  }
  const now = Date.now();
  if (fields.notAfter <= now) throw invalid(`${certFile} expired on ${new Date(fields.notAfter).toISOString()}`);
  if (fields.notBefore > now + clockSkewMs) throw invalid(`${certFile} is not valid before ${new Date(fields.notBefore).toISOString()}`);
}

async function createCaCertificate(options: {
  subject: NameFields;
  keyAlgorithm: KeyAlgorithm;
  lifetimeDays: number;
  extensions: Asn1[];
  /** Signing CA; undefined for the self-signed root. */
  parent?: { issuer: Issuer; notAfter: number };
}): Promise<{ certPem: string; keyPem: string }> {
  const keys = await generateCaKeyPair(options.keyAlgorithm);
  const now = wholeSeconds(Date.now());
  const subject = buildName(options.subject);
  const notAfter = Math.min(now + options.lifetimeDays * dayMs, options.parent?.notAfter ?? Infinity);
  const built = buildCertificate(
    {
      serial: randomSerial(),
      notBefore: now - clockSkewMs,
      notAfter,
      subject,
      subjectPublicKeyInfo: spkiDerOf(keys.publicKey),
      extensions: options.extensions,
    },
    options.parent?.issuer ?? ((keyId) => createIssuer(subject, keyId, keys.privateKey)),
  );
  return { certPem: built.pem, keyPem: privateKeyToPem(keys.privateKey) };
}

interface LoadedCa {
  readonly certificate: X509Certificate;
  readonly fields: CertificateFields;
  readonly certPem: string;
  readonly privateKey: KeyObject;
  readonly keyPem: string;
}

/** Loads a generated CA pair, creating it when its certificate does not exist yet. */
async function loadOrCreateGeneratedCa(options: {
  directory: string;
  role: 'root' | 'issuing';
  names: { cert: string; key: string };
  keyAlgorithm: KeyAlgorithm;
  parent?: LoadedCa;
  log: Logger;
}): Promise<LoadedCa> {
  const { directory, role, names, log } = options;
  const certFile = path.join(directory, names.cert);
  const keyFile = path.join(directory, names.key);
  let certPem = await readOptionalFile(certFile);
  let keyPem = await readOptionalFile(keyFile);
  const created = certPem === undefined;
  if (certPem === undefined) {
    if (keyPem !== undefined) log.warn({ file: keyFile }, `${role} CA key without certificate (interrupted creation); creating a new ${role} CA`);
    const suffix = randomBytes(4).toString('hex');
    const parent = options.parent;
    const pems = await createCaCertificate({
      subject: { organization: platformOrganization, commonName: `provisio ${role} CA ${suffix}` },
      keyAlgorithm: options.keyAlgorithm,
      lifetimeDays: role === 'root' ? lifetimeDays.root : lifetimeDays.issuing,
      extensions: role === 'root' ? rootCaExtensions() : issuingCaExtensions(),
      ...(parent ? { parent: { issuer: issuerFor(parent.fields, parent.privateKey), notAfter: parent.fields.notAfter } } : {}),
    });
    await writeCredentialFiles(directory, names, pems);
    ({ certPem, keyPem } = pems);
  } else if (keyPem === undefined) {
    throw invalid(`${certFile} exists but its key ${keyFile} is missing`);
  }
  const certificate = parseCertificatePem(certPem, certFile);
  const fields = readCertificateFields(certificate, certFile);
  const privateKey = parsePrivateKeyPem(keyPem, keyFile);
  const issuer = options.parent?.certificate ?? certificate;
  const issuerFile = options.parent ? path.join(directory, caFileNames.rootCert) : certFile;
  checkCa({ certificate, fields, certFile, privateKey, keyFile, issuer, issuerFile });
  if (!created && privateKey.asymmetricKeyType !== options.keyAlgorithm) {
    log.warn({ file: certFile, key: describeKey(privateKey) }, `existing ${role} CA kept; certKeyAlgorithm applies to a new CA only`);
  }
  log.info({ file: certFile, fingerprint: certificate.fingerprint256, subject: certificate.subject.replace(/\n/g, ', ') }, `${created ? 'created' : 'loaded'} ${role} CA`);
  return { certificate, fields, certPem: certificate.toString(), privateKey, keyPem };
}

/** Loads and checks the operator's root, issuing certificate and issuing key. */
async function loadOperatorCa(files: OperatorCaFiles, log: Logger): Promise<{ root: X509Certificate; rootPem: string; issuing: LoadedCa }> {
  const rootPem = await readRequiredFile(files.rootCertFile);
  const root = parseCertificatePem(rootPem, files.rootCertFile);
  const rootFields = readCertificateFields(root, files.rootCertFile);
  const issuingText = await readRequiredFile(files.issuingCertFile);
  const certificate = parseCertificatePem(issuingText, files.issuingCertFile);
  const fields = readCertificateFields(certificate, files.issuingCertFile);
  const keyPem = await readRequiredFile(files.issuingKeyFile);
  const privateKey = parsePrivateKeyPem(keyPem, files.issuingKeyFile);
  if (!root.ca) throw invalid(`${files.rootCertFile} is not a CA certificate (basicConstraints CA:false)`);
  if (rootFields.notAfter <= Date.now()) throw invalid(`${files.rootCertFile} expired on ${new Date(rootFields.notAfter).toISOString()}`);
  if (!root.checkIssued(root) || !root.verify(root.publicKey)) {
    log.warn({ file: files.rootCertFile }, 'the operator root CA is not self-signed; devices must trust it as an anchor');
  }
  checkCa({
    certificate,
    fields,
    certFile: files.issuingCertFile,
    privateKey,
    keyFile: files.issuingKeyFile,
    issuer: root,
    issuerFile: files.rootCertFile,
  });
  log.info({ root: root.fingerprint256, issuing: certificate.fingerprint256 }, 'loaded operator-supplied CA');
  // Only the first block of the certificate file is the issuing CA; store a clean copy of it.
  return { root, rootPem: root.toString(), issuing: { certificate, fields, certPem: certificate.toString(), privateKey, keyPem } };
}

export async function loadOrCreateCaMaterial(options: CaMaterialOptions): Promise<CaMaterial> {
  const directory = await ensureCaDirectory(options.dataDir);
  const log = options.log;
  let root: { certificate: X509Certificate; certPem: string };
  let issuing: LoadedCa;
  if (options.operatorCa) {
    const operator = await loadOperatorCa(options.operatorCa, log);
    root = { certificate: operator.root, certPem: operator.rootPem };
    issuing = operator.issuing;
  } else {
    const common = { directory, keyAlgorithm: options.keyAlgorithm, log };
    const rootCa = await loadOrCreateGeneratedCa({ ...common, role: 'root', names: { cert: caFileNames.rootCert, key: caFileNames.rootKey } });
    issuing = await loadOrCreateGeneratedCa({
      ...common,
      role: 'issuing',
      names: { cert: caFileNames.issuingCert, key: caFileNames.issuingKey },
      parent: rootCa,
    });
    root = { certificate: rootCa.certificate, certPem: rootCa.certPem };
  }
  const issuer = issuerFor(issuing.fields, issuing.privateKey);
  const issuingCa: IssuingCa = { ...issuing, issuer };
  const { server, signing } = await loadOrIssueLeaves({
    directory,
    keyAlgorithm: options.keyAlgorithm,
    hostnames: options.hostnames,
    issuing: issuingCa,
    log,
  });
  return { root, issuing: issuingCa, server, signing, operatorSupplied: options.operatorCa !== undefined };
}
