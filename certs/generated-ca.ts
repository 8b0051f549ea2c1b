/**
 * The platform's own CA under {dataDir}/ca: made on a fresh data directory, loaded afterwards.
 * The running platform signs with the issuing CA only. It reads the root certificate, never the
 * root key: that is written once, to ca/offline/, for the operator to move off the machine
 * (docs/OPERATIONS.md); rolling the issuing CA over is an explicit command (ca-commands.ts).
 */
import { access, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { X509Certificate, KeyObject } from 'node:crypto';
import type { Logger } from '../log/logger.ts';
import { checkCa, checkCaCertificate, invalidCa } from './ca-checks.ts';
import { createIssuingCa, createRootCa } from './ca-creation.ts';
import {
  caFileNames,
  caSubdirectories,
  ensurePrivateDirectory,
  isEncryptedKeyPem,
  moveFile,
  parseCertificatePem,
  parsePrivateKeyPem,
  privateKeyFilePem,
  readCertificateFields,
  readOptionalFile,
  writeCertificateFile,
  writeKeyFile,
} from './ca-files.ts';
import type { CertificateFields } from './certificate-reader.ts';
import { describeKey, keysMatch, privateKeyToPem, signatureAlgorithmFor, type KeyAlgorithm } from './key-pairs.ts';
import { loadNextRoot, type NextRoot } from './next-root.ts';

/** A loaded CA that signs: its certificate and key (keyPem unencrypted, in memory only). */
export interface LoadedCa {
  readonly certificate: X509Certificate;
  readonly fields: CertificateFields;
  readonly certPem: string;
  readonly privateKey: KeyObject;
  readonly keyPem: string;
}

export interface GeneratedCa {
  readonly root: { readonly certificate: X509Certificate; readonly fields: CertificateFields; readonly certPem: string };
  readonly issuing: LoadedCa;
  /** Earlier issuing CAs still valid: the device certificates they issued keep working. */
  readonly retiredIssuing: readonly RetiredIssuingCa[];
  /** Root 2 of a root rollover with its cross certificate (between new-root and retire-root), or null. */
  readonly nextRoot: NextRoot | null;
}

export interface GeneratedCaOptions {
  readonly directory: string;
  readonly keyAlgorithm: KeyAlgorithm;
  readonly passphrase?: string;
  readonly log: Logger;
}

export function caPath(directory: string, name: string): string {
  return path.join(directory, name);
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/**
 * Makes a root and an issuing CA and writes them: the root key to `rootKeyFile` (default
 * ca/offline/), the issuing key and certificate, and the root certificate last. A data directory
 * without a root certificate therefore holds no CA anyone was given, whatever else is left.
 */
export async function writeNewGeneratedCa(options: GeneratedCaOptions & { readonly rootKeyFile?: string }): Promise<{
  rootKeyFile: string;
  root: X509Certificate;
  issuing: X509Certificate;
}> {
  const { directory, keyAlgorithm, passphrase } = options;
  const root = await createRootCa(keyAlgorithm);
  const issuing = await createIssuingCa(keyAlgorithm, root);
  const rootKeyFile = options.rootKeyFile ?? caPath(directory, caFileNames.rootKey);
  if (options.rootKeyFile === undefined) await ensurePrivateDirectory(caPath(directory, caSubdirectories.offline));
  await writeKeyFile(rootKeyFile, privateKeyFilePem(root.privateKey, passphrase));
  await writeKeyFile(caPath(directory, caFileNames.issuingKey), privateKeyFilePem(issuing.privateKey, passphrase));
  await writeCertificateFile(caPath(directory, caFileNames.issuingCert), issuing.certPem);
  await writeCertificateFile(caPath(directory, caFileNames.rootCert), root.certPem);
  return { rootKeyFile, root: root.certificate, issuing: issuing.certificate };
}

/** Versions before issue 12 kept the root key beside the issuing key: move it (unread) to ca/offline/. */
async function takeLegacyRootKeyOffline(directory: string, log: Logger): Promise<void> {
  const legacy = caPath(directory, caFileNames.legacyRootKey);
  if (!(await exists(legacy))) return;
  const offline = caPath(directory, caFileNames.rootKey);
  if (await exists(offline)) {
    log.warn(
      { file: legacy, offline },
      'two root CA keys: one beside the issuing key, one in the offline directory; the platform reads neither, keep the right one off this machine',
    );
    return;
  }
  await ensurePrivateDirectory(path.dirname(offline));
  await moveFile(legacy, offline);
  log.warn({ file: offline }, 'moved the root CA key out of the CA directory: the platform never reads it; move it off this machine (docs/OPERATIONS.md)');
}

/** The root certificate, checked (a self-signed CA in its validity); the key is not read. */
export async function loadRootCertificate(directory: string): Promise<GeneratedCa['root']> {
  const certFile = caPath(directory, caFileNames.rootCert);
  const certPem = await readOptionalFile(certFile);
  if (certPem === undefined) throw invalidCa(`${certFile} does not exist`);
  const certificate = parseCertificatePem(certPem, certFile);
  const fields = readCertificateFields(certificate, certFile);
  checkCaCertificate({ certificate, fields, certFile, issuer: certificate, issuerFile: certFile });
  return { certificate, fields, certPem: certificate.toString() };
}

/** The root among `roots` that signed `certificate`; the first one when none did (a check against it then names the defect). */
export function signingRootOf<T extends { readonly certificate: X509Certificate }>(certificate: X509Certificate, roots: readonly [T, ...T[]]): T {
  return roots.find((root) => certificate.checkIssued(root.certificate) && certificate.verify(root.certificate.publicKey)) ?? roots[0];
}

/** The issuing CA in use with its key, signed by the root or (during a root rollover) by the next root. */
async function loadIssuing(
  directory: string,
  roots: readonly [GeneratedCa['root'], ...GeneratedCa['root'][]],
  passphrase: string | undefined,
  log: Logger,
): Promise<LoadedCa> {
  const certFile = caPath(directory, caFileNames.issuingCert);
  const keyFile = caPath(directory, caFileNames.issuingKey);
  const hint = 'make a new issuing CA with the root key: npm run ca -- issue-intermediate (docs/OPERATIONS.md)';
  const certPem = await readOptionalFile(certFile);
  if (certPem === undefined) throw invalidCa(`${certFile} does not exist; ${hint}`);
  const keyText = await readOptionalFile(keyFile);
  if (keyText === undefined) throw invalidCa(`${certFile} exists but its key ${keyFile} is missing; ${hint}`);
  const certificate = parseCertificatePem(certPem, certFile);
  const fields = readCertificateFields(certificate, certFile);
  const privateKey = parsePrivateKeyPem(keyText, keyFile, passphrase);
  const root = signingRootOf(certificate, roots);
  const rootFile = caPath(directory, root === roots[0] ? caFileNames.rootCert : caFileNames.nextRootCert);
  checkCa({ certificate, fields, certFile, privateKey, keyFile, issuer: root.certificate, issuerFile: rootFile });
  if (passphrase !== undefined && !isEncryptedKeyPem(keyText)) {
    await writeKeyFile(keyFile, privateKeyFilePem(privateKey, passphrase));
    log.info({ file: keyFile }, 'encrypted the issuing CA key with the passphrase');
  }
  return { certificate, fields, certPem: certificate.toString(), privateKey, keyPem: privateKeyToPem(privateKey) };
}

/** An earlier issuing CA: trusted for the device certificates it issued; its key, when kept, signs its CRL only. */
export interface RetiredIssuingCa {
  readonly certificate: X509Certificate;
  readonly fields: CertificateFields;
  /** The key kept beside it (ca/retired/*.key.pem), or null: then the platform signs no CRL for it. */
  readonly privateKey: KeyObject | null;
}

/** The key beside a retired certificate (same name, .key.pem), or null when there is none or it is unusable (logged). */
async function loadRetiredKey(certFile: string, certificate: X509Certificate, passphrase: string | undefined, log: Logger): Promise<KeyObject | null> {
  const keyFile = certFile.replace(/\.cert\.pem$/, '.key.pem');
  const text = await readOptionalFile(keyFile);
  if (text === undefined) return null;
  try {
    const key = parsePrivateKeyPem(text, keyFile, passphrase);
    if (keysMatch(key, certificate.publicKey) && signatureAlgorithmFor(key)) return key;
    log.warn({ file: keyFile }, 'retired issuing CA key is not the key of its certificate: no CRL is signed for that CA');
  } catch (error) {
    log.warn({ file: keyFile, reason: (error as Error).message }, 'retired issuing CA key unreadable: no CRL is signed for that CA');
  }
  return null;
}

/**
 * The certificates in ca/retired/ that a root signed (the root, or the next root during a root
 * rollover) and that have not expired: issuing CAs of before a rollover (generated, or the
 * operator's copied there), whose device certificates stay accepted, each with its key when one
 * is kept beside it (for its CRL).
 */
export async function loadRetiredIssuing(
  directory: string,
  roots: readonly [{ readonly certificate: X509Certificate }, ...{ readonly certificate: X509Certificate }[]],
  passphrase: string | undefined,
  log: Logger,
): Promise<RetiredIssuingCa[]> {
  const retiredDirectory = caPath(directory, caSubdirectories.retired);
  const names = await readdir(retiredDirectory).catch(() => [] as string[]);
  const retired: RetiredIssuingCa[] = [];
  for (const name of names.filter((entry) => entry.endsWith('.cert.pem')).sort()) {
    const file = path.join(retiredDirectory, name);
    try {
      const certificate = parseCertificatePem((await readOptionalFile(file)) ?? '', file);
      const fields = readCertificateFields(certificate, file);
      checkCaCertificate({ certificate, fields, certFile: file, issuer: signingRootOf(certificate, roots).certificate, issuerFile: 'the root CA' });
      retired.push({ certificate, fields, privateKey: await loadRetiredKey(file, certificate, passphrase, log) });
    } catch (error) {
      log.info({ file, reason: (error as Error).message }, 'retired issuing CA not trusted any more (expired, or not signed by the root)');
    }
  }
  return retired;
}

export async function loadOrCreateGeneratedCa(options: GeneratedCaOptions): Promise<GeneratedCa> {
  const { directory, log, passphrase } = options;
  await takeLegacyRootKeyOffline(directory, log);
  const rootCertFile = caPath(directory, caFileNames.rootCert);
  let created = false;
  if (!(await exists(rootCertFile))) {
    if (await exists(caPath(directory, caFileNames.issuingCert))) {
      throw invalidCa(
        `${rootCertFile} is missing but an issuing CA exists: restore the root certificate (devices trust it); if the first start of a fresh data directory was interrupted, delete ${directory} and start again`,
      );
    }
    const made = await writeNewGeneratedCa(options);
    created = true;
    log.warn(
      { file: made.rootKeyFile, root: made.root.fingerprint256 },
      'created the root and issuing CA; the root CA key is only needed to roll the issuing CA over and the platform never reads it: move it off this machine (docs/OPERATIONS.md)',
    );
  }
  const root = await loadRootCertificate(directory);
  const nextRoot = await loadNextRoot(directory, root, log);
  const roots: [GeneratedCa['root'], ...GeneratedCa['root'][]] = nextRoot ? [root, nextRoot] : [root];
  const issuing = await loadIssuing(directory, roots, passphrase, log);
  const retiredIssuing = await loadRetiredIssuing(directory, roots, passphrase, log);
  for (const keyFile of [caPath(directory, caFileNames.rootKey), caPath(directory, caFileNames.nextRootKey)]) {
    if (!created && (await exists(keyFile))) {
      log.warn({ file: keyFile }, 'the root CA key is still on this machine (not read): move it offline (docs/OPERATIONS.md)');
    }
  }
  if (!created && issuing.privateKey.asymmetricKeyType !== options.keyAlgorithm) {
    log.warn({ file: rootCertFile, key: describeKey(issuing.privateKey) }, 'existing CA kept; certKeyAlgorithm applies to a new CA only');
  }
  log.info(
    {
      root: root.certificate.fingerprint256,
      ...(nextRoot ? { nextRoot: nextRoot.certificate.fingerprint256 } : {}),
      issuing: issuing.certificate.fingerprint256,
      retiredIssuing: retiredIssuing.length,
      subject: issuing.certificate.subject.replace(/\n/g, ', '),
    },
    `${created ? 'created' : 'loaded'} the CA (issuing CA with its key, root certificate only)`,
  );
  return { root, issuing, retiredIssuing, nextRoot };
}
