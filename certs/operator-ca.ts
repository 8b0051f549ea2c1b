/**
 * The operator's own CA (PROVISIO_CA_ROOT_CERT_FILE, _ISSUING_CERT_FILE, _ISSUING_KEY_FILE): read
 * where the operator keeps it, checked, never copied or rewritten. Only the issuing key is
 * needed; it may be encrypted with the CA key passphrase.
 */
import type { X509Certificate } from 'node:crypto';
import type { Logger } from '../log/logger.ts';
import { checkCa, invalidCa } from './ca-checks.ts';
import { parseCertificatePem, parsePrivateKeyPem, readCertificateFields, readRequiredFile } from './ca-files.ts';
import type { LoadedCa } from './generated-ca.ts';
import { privateKeyToPem } from './key-pairs.ts';

export interface OperatorCaFiles {
  readonly rootCertFile: string;
  readonly issuingCertFile: string;
  readonly issuingKeyFile: string;
}

/** Loads and checks the operator's root, issuing certificate and issuing key. */
export async function loadOperatorCa(
  files: OperatorCaFiles,
  passphrase: string | undefined,
  log: Logger,
): Promise<{ root: X509Certificate; rootPem: string; issuing: LoadedCa }> {
  const rootPem = await readRequiredFile(files.rootCertFile);
  const root = parseCertificatePem(rootPem, files.rootCertFile);
  const rootFields = readCertificateFields(root, files.rootCertFile);
  const issuingText = await readRequiredFile(files.issuingCertFile);
  const certificate = parseCertificatePem(issuingText, files.issuingCertFile);
  const fields = readCertificateFields(certificate, files.issuingCertFile);
  const keyText = await readRequiredFile(files.issuingKeyFile);
  const privateKey = parsePrivateKeyPem(keyText, files.issuingKeyFile, passphrase);
  if (!root.ca) throw invalidCa(`${files.rootCertFile} is not a CA certificate (basicConstraints CA:false)`);
  if (rootFields.notAfter <= Date.now()) throw invalidCa(`${files.rootCertFile} expired on ${new Date(rootFields.notAfter).toISOString()}`);
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
  // Only the first block of the certificate file is the issuing CA; keep a clean copy of it.
  return {
    root,
    rootPem: root.toString(),
    issuing: { certificate, fields, certPem: certificate.toString(), privateKey, keyPem: privateKeyToPem(privateKey) },
  };
}
