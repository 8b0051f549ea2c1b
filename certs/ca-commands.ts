/**
 * The explicit CA operations behind `npm run ca` (platform/ca-command.ts), on the generated CA
 * under {dataDir}/ca: create one, roll the issuing CA over with the root key the operator
 * brings back, and describe what is there. The running platform does none of these.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { access, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log/logger.ts';
import { invalidCa } from './ca-checks.ts';
import { createIssuingCa, type NewCa } from './ca-creation.ts';
import {
  caFileNames,
  caSubdirectories,
  ensureCaDirectory,
  ensurePrivateDirectory,
  isEncryptedKeyPem,
  parseCertificatePem,
  parsePrivateKeyPem,
  privateKeyFilePem,
  readOptionalFile,
  retiredIssuingFileNames,
  writeCertificateFile,
  writeKeyFile,
} from './ca-files.ts';
import { caPath, loadRootCertificate, writeNewGeneratedCa } from './generated-ca.ts';
import { keysMatch, type KeyAlgorithm } from './key-pairs.ts';
import { dayMs } from './certificate-builder.ts';
import { loadNextRoot } from './next-root.ts';
import { leafRenewalDays } from './profiles.ts';

export interface CaCommandOptions {
  readonly dataDir: string;
  readonly keyAlgorithm: KeyAlgorithm;
  /** Encrypts the keys written; decrypts the root key brought back. */
  readonly passphrase?: string;
  /** create: where the root key goes (default ca/offline/); issue-intermediate: where it is read from. */
  readonly rootKeyFile?: string;
  readonly log: Logger;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** A root and an issuing CA on a data directory that has none. */
export async function createCa(options: CaCommandOptions): Promise<{ rootKeyFile: string; root: X509Certificate; issuing: X509Certificate }> {
  const directory = await ensureCaDirectory(options.dataDir);
  const rootCertFile = caPath(directory, caFileNames.rootCert);
  if (await exists(rootCertFile)) throw invalidCa(`${rootCertFile} exists: this data directory already has a CA`);
  if (options.rootKeyFile !== undefined && (await exists(options.rootKeyFile))) throw invalidCa(`${options.rootKeyFile} exists: it is not overwritten`);
  return writeNewGeneratedCa({
    directory,
    keyAlgorithm: options.keyAlgorithm,
    ...(options.passphrase !== undefined ? { passphrase: options.passphrase } : {}),
    ...(options.rootKeyFile !== undefined ? { rootKeyFile: options.rootKeyFile } : {}),
    log: options.log,
  });
}

/**
 * Rolls the issuing CA over: a new issuing CA signed by the root key (the next root's during a
 * root rollover), which replaces the current one (installIssuingCa).
 */
export async function issueIntermediate(
  options: CaCommandOptions,
): Promise<{ issuing: X509Certificate; retired?: { certificate: X509Certificate; file: string; keyFile: string | null } }> {
  const directory = await ensureCaDirectory(options.dataDir);
  // During a root rollover the new issuing CA is the next root's, signed with its key.
  const root = await loadRootCertificate(directory);
  const nextRoot = await loadNextRoot(directory, root, options.log);
  const signer = nextRoot ?? root;
  const rootKey = await readRootKey(
    options.rootKeyFile ?? caPath(directory, nextRoot ? caFileNames.nextRootKey : caFileNames.rootKey),
    signer.certificate,
    options.passphrase,
  );
  return installIssuingCa(directory, await createIssuingCa(options.keyAlgorithm, { fields: signer.fields, privateKey: rootKey }), options);
}

/**
 * A root key brought back for a command, checked against its certificate. A missing file says to
 * bring the key back and name it with --root-key.
 */
export async function readRootKey(file: string, certificate: X509Certificate, passphrase: string | undefined): Promise<KeyObject> {
  const text = await readOptionalFile(file);
  if (text === undefined) throw invalidCa(`${file} does not exist: bring the root key back and name it with --root-key <file>`);
  const key = parsePrivateKeyPem(text, file, passphrase);
  if (!keysMatch(key, certificate.publicKey)) throw invalidCa(`${file} is not the key of the root ${certificate.subject.replace(/\n/g, ', ')}`);
  return key;
}

/**
 * Puts a new issuing CA in place of the current one. The current certificate goes to
 * ca/retired/, where the platform keeps trusting it for the device certificates it issued until
 * it expires; its key goes beside it (encrypted when there is a passphrase), with which the
 * platform keeps signing that CA's CRL, and nothing else, until then.
 */
export async function installIssuingCa(
  directory: string,
  issuing: NewCa,
  options: Pick<CaCommandOptions, 'passphrase' | 'log'>,
): Promise<{ issuing: X509Certificate; retired?: { certificate: X509Certificate; file: string; keyFile: string | null } }> {
  let retired: { certificate: X509Certificate; file: string; keyFile: string | null } | undefined;
  const currentFile = caPath(directory, caFileNames.issuingCert);
  const currentKeyFile = caPath(directory, caFileNames.issuingKey);
  const currentPem = await readOptionalFile(currentFile);
  if (currentPem !== undefined) {
    const certificate = parseCertificatePem(currentPem, currentFile);
    const retiredDirectory = await ensurePrivateDirectory(caPath(directory, caSubdirectories.retired));
    const names = retiredIssuingFileNames(certificate.serialNumber);
    // The key first, and only when it is this certificate's: after a crash between the two writes
    // below, the current key is already the new one, and the retired key written by the first run stays.
    const currentKeyText = await readOptionalFile(currentKeyFile);
    const currentKey = currentKeyText === undefined ? undefined : parsePrivateKeyPem(currentKeyText, currentKeyFile, options.passphrase);
    let keyFile: string | null = null;
    if (currentKey && keysMatch(currentKey, certificate.publicKey)) {
      keyFile = path.join(retiredDirectory, names.key);
      await writeKeyFile(keyFile, privateKeyFilePem(currentKey, options.passphrase));
    } else if (await exists(path.join(retiredDirectory, names.key))) {
      keyFile = path.join(retiredDirectory, names.key);
    }
    const file = path.join(retiredDirectory, names.cert);
    await writeCertificateFile(file, certificate.toString());
    retired = { certificate, file, keyFile };
  }
  // Key first: a crash before the certificate leaves a pair that does not match, which start-up
  // refuses by name and running this command again repairs.
  await writeKeyFile(currentKeyFile, privateKeyFilePem(issuing.privateKey, options.passphrase));
  await writeCertificateFile(currentFile, issuing.certPem);
  options.log.info({ issuing: issuing.certificate.fingerprint256, retired: retired?.certificate.fingerprint256 }, 'issuing CA rolled over');
  return { issuing: issuing.certificate, ...(retired ? { retired } : {}) };
}

export interface LeafDescription {
  readonly certificate: X509Certificate;
  /** Why the next start of a platform process issues it again (leaf-material.ts), or null. */
  readonly reissuedAtStartBecause: string | null;
}

export interface CaDescription {
  readonly root: X509Certificate;
  /** During a root rollover (new-root until retire-root): root 2 and the cross certificate root 1 signed for it. */
  readonly nextRoot: { readonly certificate: X509Certificate; readonly cross: X509Certificate | null } | null;
  /** Roots retired by retire-root (ca/retired-roots/), kept for the record. */
  readonly retiredRoots: readonly X509Certificate[];
  readonly issuing: X509Certificate | null;
  readonly issuingKeyEncrypted: boolean | null;
  readonly retired: readonly X509Certificate[];
  /** The brokers' server certificate and the message-signing certificate, as the last start left them (null: none yet). */
  readonly leaves: { readonly server: LeafDescription | null; readonly signing: LeafDescription | null };
  /** Root keys still in the data directory (they belong offline). */
  readonly rootKeysOnDisk: readonly { readonly file: string; readonly encrypted: boolean }[];
}

/**
 * What the data directory holds, for `npm run ca -- status`. `renewalDays` is the margin the
 * processes reissue their server and signing certificates at (PROVISIO_PLATFORM_CERT_RENEWAL_DAYS).
 */
export async function describeCa(dataDir: string, renewalDays: number = leafRenewalDays): Promise<CaDescription> {
  const directory = path.resolve(dataDir, 'ca');
  const rootText = await readOptionalFile(caPath(directory, caFileNames.rootCert));
  if (rootText === undefined)
    throw invalidCa(`${caPath(directory, caFileNames.rootCert)} does not exist: no CA yet (npm run ca -- create, or start the platform)`);
  const root = parseCertificatePem(rootText, caPath(directory, caFileNames.rootCert));
  const issuingText = await readOptionalFile(caPath(directory, caFileNames.issuingCert));
  const issuingKeyText = await readOptionalFile(caPath(directory, caFileNames.issuingKey));
  const retiredDirectory = caPath(directory, caSubdirectories.retired);
  const retiredNames = (await readdir(retiredDirectory).catch(() => [] as string[])).filter((name) => name.endsWith('.cert.pem')).sort();
  const retired: X509Certificate[] = [];
  for (const name of retiredNames) {
    const text = await readOptionalFile(path.join(retiredDirectory, name));
    if (text !== undefined) retired.push(parseCertificatePem(text, path.join(retiredDirectory, name)));
  }
  const rootKeysOnDisk: { file: string; encrypted: boolean }[] = [];
  // The root key, root 2's during a rollover, root 1's after retire-root (to destroy), and where versions before issue 12 kept it.
  const offlineKeys = (await readdir(caPath(directory, caSubdirectories.offline)).catch(() => [] as string[]))
    .filter((name) => name.endsWith('.key.pem'))
    .sort()
    .map((name) => path.join(caSubdirectories.offline, name));
  for (const name of [...offlineKeys, caFileNames.legacyRootKey]) {
    const text = await readOptionalFile(caPath(directory, name));
    if (text !== undefined) rootKeysOnDisk.push({ file: caPath(directory, name), encrypted: isEncryptedKeyPem(text) });
  }
  const optionalCertificate = async (file: string): Promise<X509Certificate | null> => {
    const text = await readOptionalFile(file);
    return text === undefined ? null : parseCertificatePem(text, file);
  };
  const nextRootCertificate = await optionalCertificate(caPath(directory, caFileNames.nextRootCert));
  const nextRoot = nextRootCertificate && { certificate: nextRootCertificate, cross: await optionalCertificate(caPath(directory, caFileNames.nextRootCross)) };
  const retiredRootsDirectory = caPath(directory, caSubdirectories.retiredRoots);
  const retiredRoots: X509Certificate[] = [];
  for (const name of (await readdir(retiredRootsDirectory).catch(() => [] as string[]))
    .filter((entry) => /^root-ca\.[0-9a-f]+\.cert\.pem$/.test(entry))
    .sort()) {
    const certificate = await optionalCertificate(path.join(retiredRootsDirectory, name));
    if (certificate) retiredRoots.push(certificate);
  }
  const issuing = issuingText === undefined ? null : parseCertificatePem(issuingText, caPath(directory, caFileNames.issuingCert));
  const leaf = async (name: string): Promise<LeafDescription | null> => {
    const text = await readOptionalFile(caPath(directory, name));
    if (text === undefined) return null;
    const certificate = parseCertificatePem(text, caPath(directory, name));
    const reissuedAtStartBecause =
      issuing === null || !certificate.checkIssued(issuing) || !certificate.verify(issuing.publicKey)
        ? 'not issued by the current issuing CA'
        : new Date(certificate.validTo).getTime() - Date.now() < renewalDays * dayMs
          ? `fewer than ${renewalDays} days left`
          : null;
    return { certificate, reissuedAtStartBecause };
  };
  return {
    root,
    nextRoot,
    retiredRoots,
    leaves: { server: await leaf(caFileNames.serverCert), signing: await leaf(caFileNames.signingCert) },
    issuing,
    issuingKeyEncrypted: issuingKeyText === undefined ? null : isEncryptedKeyPem(issuingKeyText),
    retired,
    rootKeysOnDisk,
  };
}
