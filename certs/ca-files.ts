/**
 * The CA's files under {dataDir}/ca/: reading them (a defect names the file), and writing them
 * atomically with private keys readable by the owner only.
 */
import { createPrivateKey, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PlatformError } from '../errors/platform-error.ts';
import { readCertificate, type CertificateFields } from './certificate-reader.ts';
import { fromPem } from './pem.ts';

export const caFileNames = {
  rootCert: 'root-ca.cert.pem',
  rootKey: 'root-ca.key.pem',
  issuingCert: 'issuing-ca.cert.pem',
  issuingKey: 'issuing-ca.key.pem',
  serverCert: 'server.cert.pem',
  serverKey: 'server.key.pem',
  signingCert: 'signing.cert.pem',
  signingKey: 'signing.key.pem',
} as const;

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

/** Creates {dataDir}/ca with mode 0700 (and tightens it when it exists). */
export async function ensureCaDirectory(dataDir: string): Promise<string> {
  const directory = path.resolve(dataDir, caDirectoryName);
  try {
    await mkdir(directory, { recursive: true, mode: 0o700 });
    await chmod(directory, 0o700);
  } catch (error) {
    throw unusable(directory, error);
  }
  return directory;
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

/** An unencrypted PEM private key (PKCS#8, or the traditional PKCS#1 / SEC1 forms). */
export function parsePrivateKeyPem(pem: string, file: string): KeyObject {
  if (/ENCRYPTED/.test(pem)) {
    throw new PlatformError('CA_MATERIAL_INVALID', { detail: `${file} is encrypted; an unencrypted PKCS#8 key is needed` });
  }
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new PlatformError('CA_MATERIAL_INVALID', { detail: `${file} does not hold a readable PEM private key`, cause: error });
  }
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

/**
 * Writes a key (mode 0600) then its certificate (0644). A crash between the two leaves a key
 * without a certificate, which the loader treats as "not created yet".
 */
export async function writeCredentialFiles(
  directory: string,
  names: { readonly cert: string; readonly key: string },
  pems: { readonly certPem: string; readonly keyPem: string },
): Promise<void> {
  await writeAtomically(path.join(directory, names.key), pems.keyPem, 0o600);
  await writeAtomically(path.join(directory, names.cert), pems.certPem, 0o644);
}
