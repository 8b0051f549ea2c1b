/**
 * The root rollover behind `npm run ca -- new-root` and `retire-root` (docs/OPERATIONS.md, "A new
 * root"). new-root makes root 2 (its key handled like the first root's: written to ca/offline/ or
 * where the operator says, encrypted with the passphrase), the cross certificate root 1 signs for
 * it, and an issuing CA under root 2 that replaces the current one (which retires as in
 * issue-intermediate). retire-root, once the fleet knows root 2, makes root 2 the root and keeps
 * root 1 and its cross certificate in ca/retired-roots/ for the record. The running platform does
 * neither: every process reads the CA at start.
 */
import type { X509Certificate } from 'node:crypto';
import { access, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { invalidCa } from './ca-checks.ts';
import { installIssuingCa, readRootKey, type CaCommandOptions } from './ca-commands.ts';
import { createCrossCertificate, createIssuingCa, createRootCa } from './ca-creation.ts';
import {
  caFileNames,
  caSubdirectories,
  ensureCaDirectory,
  ensurePrivateDirectory,
  moveFile,
  parseCertificatePem,
  parsePrivateKeyPem,
  privateKeyFilePem,
  readOptionalFile,
  retiredRootFileNames,
  writeCertificateFile,
  writeKeyFile,
} from './ca-files.ts';
import { caPath, loadRootCertificate } from './generated-ca.ts';
import { keysMatch, type KeyAlgorithm } from './key-pairs.ts';
import { loadNextRoot } from './next-root.ts';

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** Root 2 is made with root 1's kind of key: what devices verify stays what they verified. */
function keyAlgorithmOf(certificate: X509Certificate): KeyAlgorithm {
  return certificate.publicKey.asymmetricKeyType === 'rsa' ? 'rsa' : 'ec';
}

export interface NewRootOptions extends CaCommandOptions {
  /** Where root 2's key goes (default ca/offline/next-root-ca.key.pem); `rootKeyFile` is root 1's key, which signs the cross certificate. */
  readonly nextRootKeyFile?: string;
}

export interface NewRootOutcome {
  readonly nextRoot: X509Certificate;
  readonly cross: X509Certificate;
  readonly nextRootKeyFile: string;
  readonly issuing: X509Certificate;
  readonly retired?: { readonly certificate: X509Certificate; readonly file: string; readonly keyFile: string | null };
}

/**
 * Starts a root rollover: root 2 (self-signed, 10 years), the cross certificate (root 2's subject
 * and key signed by root 1, within root 1's validity) and a new issuing CA under root 2. Written
 * in an order a crash cannot make harmful: root 2's key, the cross certificate, root 2 (from then
 * on the platform trusts it), then the issuing CA. Refused while a rollover is under way.
 */
export async function newRoot(options: NewRootOptions): Promise<NewRootOutcome> {
  const directory = await ensureCaDirectory(options.dataDir);
  const root = await loadRootCertificate(directory);
  if (await loadNextRoot(directory, root, options.log)) {
    throw invalidCa(
      `a root rollover is under way (${caPath(directory, caFileNames.nextRootCert)}): retire-root ends it; issue-intermediate makes a new issuing CA under the next root`,
    );
  }
  const explicitKeyFile = options.nextRootKeyFile;
  if (explicitKeyFile !== undefined && (await exists(explicitKeyFile))) throw invalidCa(`${explicitKeyFile} exists: it is not overwritten`);
  const rootKey = await readRootKey(options.rootKeyFile ?? caPath(directory, caFileNames.rootKey), root.certificate, options.passphrase);

  const next = await createRootCa(keyAlgorithmOf(root.certificate));
  const cross = createCrossCertificate(next, { fields: root.fields, privateKey: rootKey });
  const issuing = await createIssuingCa(options.keyAlgorithm, next);

  const nextRootKeyFile = explicitKeyFile ?? caPath(directory, caFileNames.nextRootKey);
  if (explicitKeyFile === undefined) await ensurePrivateDirectory(caPath(directory, caSubdirectories.offline));
  await writeKeyFile(nextRootKeyFile, privateKeyFilePem(next.privateKey, options.passphrase));
  await writeCertificateFile(caPath(directory, caFileNames.nextRootCross), cross.certPem);
  await writeCertificateFile(caPath(directory, caFileNames.nextRootCert), next.certPem);
  const installed = await installIssuingCa(directory, issuing, options);
  options.log.info({ nextRoot: next.certificate.fingerprint256, cross: cross.certificate.fingerprint256 }, 'next root introduced');
  return { nextRoot: next.certificate, cross: cross.certificate, nextRootKeyFile, ...installed };
}

/**
 * The root keys kept in ca/offline/: root 1's (when it is there and is root 1's) goes out of the
 * way under `retiredKeyName`, to be destroyed; then root 2's takes the root key's name. Each step
 * looks at what is there, so a second run after a crash does what the first left undone.
 */
async function swapOfflineRootKeys(directory: string, root1: X509Certificate, retiredKeyName: string, passphrase: string | undefined): Promise<string[]> {
  const rootKeyFile = caPath(directory, caFileNames.rootKey);
  const nextRootKeyFile = caPath(directory, caFileNames.nextRootKey);
  const moved: string[] = [];
  const rootKeyText = await readOptionalFile(rootKeyFile);
  if (rootKeyText !== undefined) {
    let isRoot1Key = false;
    try {
      isRoot1Key = keysMatch(parsePrivateKeyPem(rootKeyText, rootKeyFile, passphrase), root1.publicKey);
    } catch {
      // Unreadable here (another passphrase): left where it is, and root 2's key not moved onto it.
    }
    if (isRoot1Key) {
      const away = caPath(directory, path.join(caSubdirectories.offline, retiredKeyName));
      await moveFile(rootKeyFile, away);
      moved.push(away);
    }
  }
  if ((await exists(nextRootKeyFile)) && !(await exists(rootKeyFile))) await moveFile(nextRootKeyFile, rootKeyFile);
  return moved;
}

export interface RetireRootOutcome {
  /** Root 2, now the root. */
  readonly root: X509Certificate;
  /** Where root 1 and its cross certificate were kept (ca/retired-roots/), or null when an interrupted run had done it. */
  readonly retiredRootFile: string | null;
  /** Retired issuing CAs of root 1 moved beside it (no longer trusted): their certificate files. */
  readonly retiredIssuingMoved: readonly string[];
  /** Key files (root 1's, retired issuing CAs') that nothing needs any more: to destroy. */
  readonly keysToDestroy: readonly string[];
}

/**
 * Ends a root rollover: root 2 becomes the root (ca/root-ca.cert.pem, its key in
 * ca/offline/root-ca.key.pem when it was in ca/offline/, root 1's key beside it under its serial
 * to be destroyed), root 1 and the cross certificate go to
 * ca/retired-roots/, with the retired issuing CAs root 1 signed (the platform would trust none of
 * them any more). Refused unless the issuing CA in use is root 2's. A run interrupted after root 2
 * was written is finished by running it again.
 */
export async function retireRoot(options: Pick<CaCommandOptions, 'dataDir' | 'passphrase' | 'log'>): Promise<RetireRootOutcome> {
  const directory = await ensureCaDirectory(options.dataDir);
  const root = await loadRootCertificate(directory);
  const nextFile = caPath(directory, caFileNames.nextRootCert);
  const nextText = await readOptionalFile(nextFile);
  if (nextText === undefined) throw invalidCa(`no root rollover under way (${nextFile} does not exist): npm run ca -- new-root starts one`);
  if (parseCertificatePem(nextText, nextFile).fingerprint256 === root.certificate.fingerprint256) {
    await rm(nextFile, { force: true });
    await rm(caPath(directory, caFileNames.nextRootCross), { force: true });
    return { root: root.certificate, retiredRootFile: null, retiredIssuingMoved: [], keysToDestroy: [] };
  }
  const next = await loadNextRoot(directory, root, options.log);
  if (!next) throw invalidCa(`${nextFile} cannot be used`);
  const issuingFile = caPath(directory, caFileNames.issuingCert);
  const issuing = parseCertificatePem((await readOptionalFile(issuingFile)) ?? '', issuingFile);
  if (!issuing.checkIssued(next.certificate) || !issuing.verify(next.certificate.publicKey)) {
    throw invalidCa(`${issuingFile} is not signed by the next root: run npm run ca -- issue-intermediate first (it signs with the next root's key)`);
  }

  const retiredRoots = await ensurePrivateDirectory(caPath(directory, caSubdirectories.retiredRoots));
  const names = retiredRootFileNames(root.certificate.serialNumber);
  const retiredRootFile = path.join(retiredRoots, names.cert);
  await writeCertificateFile(retiredRootFile, root.certPem);
  await writeCertificateFile(path.join(retiredRoots, names.cross), next.crossPem);
  const keysToDestroy: string[] = [];
  // Retired issuing CAs of root 1: untrusted from now on, so kept with the root they belong to.
  const retiredIssuingMoved: string[] = [];
  const retiredDirectory = caPath(directory, caSubdirectories.retired);
  for (const name of (await readdir(retiredDirectory).catch(() => [] as string[])).filter((entry) => entry.endsWith('.cert.pem')).sort()) {
    const file = path.join(retiredDirectory, name);
    const text = await readOptionalFile(file);
    if (text === undefined) continue;
    const certificate = parseCertificatePem(text, file);
    if (!certificate.checkIssued(root.certificate) || !certificate.verify(root.certificate.publicKey)) continue;
    const keyName = name.replace(/\.cert\.pem$/, '.key.pem');
    if (await exists(path.join(retiredDirectory, keyName))) {
      await moveFile(path.join(retiredDirectory, keyName), path.join(retiredRoots, keyName));
      keysToDestroy.push(path.join(retiredRoots, keyName));
    }
    await moveFile(file, path.join(retiredRoots, name));
    retiredIssuingMoved.push(path.join(retiredRoots, name));
  }
  keysToDestroy.push(...(await swapOfflineRootKeys(directory, root.certificate, names.key, options.passphrase)));
  // Root 2 becomes the root, then the rollover's files go: a crash between leaves a next root equal to the root, which a second run clears.
  await writeCertificateFile(caPath(directory, caFileNames.rootCert), next.certPem);
  await rm(nextFile, { force: true });
  await rm(caPath(directory, caFileNames.nextRootCross), { force: true });
  options.log.info({ root: next.certificate.fingerprint256, retired: root.certificate.fingerprint256 }, 'root retired: the next root is the root');
  return { root: next.certificate, retiredRootFile, retiredIssuingMoved, keysToDestroy };
}
