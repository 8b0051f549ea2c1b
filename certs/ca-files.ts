/**
 * The CA's files under {dataDir}/ca/: reading them (a defect names the file), and writing them
 * atomically with private keys readable by the owner only, encrypted when there is a passphrase.
 */
import { createPrivateKey, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { envNameOf } from '../config/schema.ts';
import { PlatformError } from '../errors/platform-error.ts';
import { readCertificate, type CertificateFields } from './certificate-reader.ts';
import { privateKeyToPem } from './key-pairs.ts';
import { fromPem } from './pem.ts';

/** Sub-directories of {dataDir}/ca. */
export const caSubdirectories = {
  /** What the running platform never reads: the root key written at first start. Move it off the machine. */
  offline: 'offline',
  /** Certificates of earlier issuing CAs, trusted for the device certificates they issued. */
  retired: 'retired',
  /** A root retired after a root rollover (`npm run ca -- retire-root`), with its cross certificate: kept for the record, read by nothing. */
  retiredRoots: 'retired-roots',
} as const;

/** Names relative to {dataDir}/ca. */
export const caFileNames = {
  rootCert: 'root-ca.cert.pem',
  rootKey: `${caSubdirectories.offline}/root-ca.key.pem`,
  /** Where versions before issue 12 kept the root key, beside the issuing key. */
  legacyRootKey: 'root-ca.key.pem',
  issuingCert: 'issuing-ca.cert.pem',
  issuingKey: 'issuing-ca.key.pem',
  serverCert: 'server.cert.pem',
  serverKey: 'server.key.pem',
  signingCert: 'signing.cert.pem',
  signingKey: 'signing.key.pem',
  /** Root 2 of a root rollover (`npm run ca -- new-root`), self-signed: trusted beside the root until `retire-root` makes it the root. */
  nextRootCert: 'next-root-ca.cert.pem',
  /** Root 2's subject and key signed by the root: how devices that hold only the root verify what root 2 signs. */
  nextRootCross: 'next-root-ca.cross.cert.pem',
  /** Root 2's key, like the root key: never read by the platform, belongs off the machine. */
  nextRootKey: `${caSubdirectories.offline}/next-root-ca.key.pem`,
} as const;

/**
 * The files of a retired issuing CA in ca/retired/: its certificate (trusted for the device
 * certificates it issued) and, when the rollover kept it, its key, which signs that CA's CRL and nothing else.
 */
export function retiredIssuingFileNames(serialHex: string): { readonly cert: string; readonly key: string } {
  const serial = serialHex.toLowerCase();
  return { cert: `issuing-ca.${serial}.cert.pem`, key: `issuing-ca.${serial}.key.pem` };
}

/** The files of a root retired by `retire-root` in ca/retired-roots/: its certificate and the cross certificate it had signed. */
export function retiredRootFileNames(serialHex: string): { readonly cert: string; readonly cross: string; readonly key: string } {
  const serial = serialHex.toLowerCase();
  return { cert: `root-ca.${serial}.cert.pem`, cross: `root-ca.${serial}.cross.cert.pem`, key: `root-ca.${serial}.key.pem` };
}

export const caDirectoryName = 'ca';

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

function unusable(directory: string, error: unknown): PlatformError {
  return new PlatformError('DATA_DIR_UNUSABLE', {
    detail: `${directory}: ${errorCode(error) ?? (error instanceof Error ? error.message : 'cannot be written')}`,
    cause: error,
  });
}

/** Creates a directory with mode 0700 (and tightens it when it exists). */
export async function ensurePrivateDirectory(directory: string): Promise<string> {
  try {
    await mkdir(directory, { recursive: true, mode: 0o700 });
    await chmod(directory, 0o700);
  } catch (error) {
    throw unusable(directory, error);
  }
  return directory;
}

/** Creates {dataDir}/ca with mode 0700 (and tightens it when it exists). */
export async function ensureCaDirectory(dataDir: string): Promise<string> {
  return ensurePrivateDirectory(path.resolve(dataDir, caDirectoryName));
}

/** Renames a file (same file system), naming the directory when it cannot. */
export async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    throw unusable(path.dirname(to), error);
  }
}

/** The file's text, or undefined when it does not exist. */
export async function readOptionalFile(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw new PlatformError('CA_MATERIAL_INVALID', { detail: `${file} cannot be read (${errorCode(error)})`, cause: error });
  }
}

export async function readRequiredFile(file: string): Promise<string> {
  const text = await readOptionalFile(file);
  if (text === undefined) throw new PlatformError('CA_MATERIAL_INVALID', { detail: `${file} does not exist` });
  return text;
}

/** The first certificate of a PEM file. */
export function parseCertificatePem(pem: string, file: string): X509Certificate {
  const der = fromPem(pem, ['CERTIFICATE']);
  try {
    if (!der) throw new Error('no PEM CERTIFICATE block');
    return new X509Certificate(der);
  } catch (error) {
    throw new PlatformError('CA_MATERIAL_INVALID', { detail: `${file} does not hold a readable PEM certificate`, cause: error });
  }
}

/** The fields of a loaded certificate; a defect names the file. */
export function readCertificateFields(certificate: X509Certificate, file: string): CertificateFields {
  try {
    return readCertificate(certificate.raw);
  } catch (error) {
    throw new PlatformError('CA_MATERIAL_INVALID', { detail: `${file}: ${(error as Error).message}`, cause: error });
  }
}

/** Where the operator gives the passphrase, for messages (never the passphrase itself). */
export const passphraseSettings = `${envNameOf('caKeyPassphrase')} or ${envNameOf('caKeyPassphraseFile')}`;

/** Whether a PEM private key is encrypted (PKCS#8 "ENCRYPTED PRIVATE KEY", or a traditional one with Proc-Type ENCRYPTED). */
export function isEncryptedKeyPem(pem: string): boolean {
  return /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,\s*ENCRYPTED/.test(pem);
}

/**
 * A PEM private key (PKCS#8, or the traditional PKCS#1 / SEC1 forms), decrypted with the
 * passphrase when it is encrypted. A missing or wrong passphrase is CA_MATERIAL_INVALID naming
 * the file; the passphrase is never part of a message.
 */
export function parsePrivateKeyPem(pem: string, file: string, passphrase?: string): KeyObject {
  const encrypted = isEncryptedKeyPem(pem);
  if (encrypted && passphrase === undefined) {
    throw new PlatformError('CA_MATERIAL_INVALID', { detail: `${file} is encrypted and no passphrase was given (${passphraseSettings})` });
  }
  try {
    return createPrivateKey(encrypted ? { key: pem, format: 'pem', passphrase: passphrase as string } : { key: pem, format: 'pem' });
  } catch (error) {
    const detail = encrypted
      ? `${file} cannot be decrypted with the passphrase given (${passphraseSettings}): wrong passphrase`
      : `${file} does not hold a readable PEM private key`;
    // The cause is left out on purpose: nothing about a decryption attempt goes further than this.
    throw new PlatformError('CA_MATERIAL_INVALID', { detail, ...(encrypted ? {} : { cause: error }) });
  }
}

/**
 * A private key as it is written to disk: encrypted PKCS#8 (PBES2, AES-256-CBC) when there is a
 * passphrase, plain PKCS#8 otherwise (then the file mode 0600 is its only protection).
 */
export function privateKeyFilePem(key: KeyObject, passphrase: string | undefined): string {
  if (passphrase === undefined) return privateKeyToPem(key);
  return key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }).toString();
}

async function writeAtomically(file: string, content: string, mode: number): Promise<void> {
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, content, { mode });
    await chmod(temporary, mode); // the umask may have narrowed it; never widened, but be exact
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw unusable(path.dirname(file), error);
  }
}

/** Writes a private key file (mode 0600) atomically; `pem` is what privateKeyFilePem gives. */
export async function writeKeyFile(file: string, pem: string): Promise<void> {
  await writeAtomically(file, pem, 0o600);
}

/**
 * Writes a certificate file atomically, mode 0600 like every file of the data directory (issue
 * 20 §3: the tightest mode that works; the platform's user is the only reader it needs).
 */
export async function writeCertificateFile(file: string, pem: string): Promise<void> {
  await writeAtomically(file, pem, 0o600);
}

/**
 * Writes a key then its certificate (both mode 0600). A crash between the two leaves a key
 * without a certificate (or not matching it), which the loaders treat as "not issued yet".
 */
export async function writeCredentialFiles(
  directory: string,
  names: { readonly cert: string; readonly key: string },
  pems: { readonly certPem: string; readonly keyPem: string },
): Promise<void> {
  await writeAtomically(path.join(directory, names.key), pems.keyPem, 0o600);
  await writeAtomically(path.join(directory, names.cert), pems.certPem, 0o600);
}
