/**
 * `npm run ca -- <command>`: the explicit CA operations (docs/OPERATIONS.md). Reads the same
 * configuration as the platform (PROVISIO_DATA_DIR, PROVISIO_CERT_KEY_ALGORITHM, the CA key
 * passphrase) and holds {dataDir}/ca.lock, so a process starting meanwhile waits.
 *
 *   status                                  what the data directory holds
 *   create [--root-key-out <file>]          a root and an issuing CA on a data directory without one
 *   issue-intermediate [--root-key <file>]  roll the issuing CA over, signed by the root key brought back
 *   new-root [--root-key <file>] [--root-key-out <file>]
 *                                           start a root rollover: root 2, its cross certificate, an issuing CA under it
 *   retire-root                             end it: root 2 becomes the root, root 1 is kept for the record
 */
import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createCa, describeCa, issueIntermediate, type CaCommandOptions } from '../certs/ca-commands.ts';
import { newRoot, retireRoot } from '../certs/root-rollover.ts';
import { readKeyPassphrase } from '../certs/key-passphrase.ts';
import type { PlatformConfig } from '../config/config.ts';
import { envNameOf } from '../config/schema.ts';
import { createLogger } from '../log/logger.ts';
import { prepareDataDir } from './data-dir.ts';
import { withFileLock } from './file-lock.ts';
import { exitWithUsage, runOperatorCommand } from './operator-command.ts';

const usage = `usage: npm run ca -- status
       npm run ca -- create [--root-key-out <file>]
       npm run ca -- issue-intermediate [--root-key <file>]
       npm run ca -- new-root [--root-key <file>] [--root-key-out <file>]
       npm run ca -- retire-root
(docs/OPERATIONS.md)
`;

function describeCertificate(label: string, certificate: X509Certificate): string {
  return `  ${label.padEnd(12)} ${certificate.subject.replace(/\n/g, ', ')}  until ${new Date(certificate.validTo).toISOString().slice(0, 10)}\n  ${''.padEnd(12)} sha256 ${certificate.fingerprint256}\n`;
}

async function run(command: string, options: { 'root-key'?: string; 'root-key-out'?: string }, config: PlatformConfig): Promise<string> {
  if (config.caRootCertFile !== undefined) {
    throw new Error(
      `the CA is the operator's own (${envNameOf('caRootCertFile')}): roll it over with your own tools and point the ${envNameOf('caIssuingCertFile')}/${envNameOf('caIssuingKeyFile')} settings at the new files`,
    );
  }
  const log = createLogger('warn', process.stderr);
  const passphrase = readKeyPassphrase(config);
  const common: CaCommandOptions = {
    dataDir: config.dataDir,
    keyAlgorithm: config.certKeyAlgorithm,
    ...(passphrase !== undefined ? { passphrase } : {}),
    log,
  };
  if (command === 'status') {
    const ca = await describeCa(config.dataDir, config.platformCertRenewalDays);
    let text = `CA in ${path.resolve(config.dataDir, 'ca')}\n${describeCertificate('root CA', ca.root)}`;
    if (ca.nextRoot) {
      text += describeCertificate('next root', ca.nextRoot.certificate);
      text += ca.nextRoot.cross ? describeCertificate('cross', ca.nextRoot.cross) : '  cross        missing: npm run ca -- new-root again\n';
      text += `  ${''.padEnd(12)} root rollover under way: devices learn the next root; npm run ca -- retire-root when they all know it\n`;
    }
    for (const retiredRoot of ca.retiredRoots) text += describeCertificate('retired root', retiredRoot);
    text += ca.issuing ? describeCertificate('issuing CA', ca.issuing) : '  issuing CA   missing: npm run ca -- issue-intermediate\n';
    if (ca.issuingKeyEncrypted !== null) text += `  issuing key  ${ca.issuingKeyEncrypted ? 'encrypted' : 'NOT encrypted (no passphrase)'}\n`;
    for (const retired of ca.retired) text += describeCertificate('retired', retired);
    for (const [label, leaf] of [
      ['server', ca.leaves.server],
      ['signing', ca.leaves.signing],
    ] as const) {
      if (leaf === null) continue;
      text += describeCertificate(label, leaf.certificate);
      if (leaf.reissuedAtStartBecause !== null) text += `  ${''.padEnd(12)} reissued at the next start of each process: ${leaf.reissuedAtStartBecause}\n`;
    }
    for (const key of ca.rootKeysOnDisk) text += `  root key     ${key.file} (${key.encrypted ? 'encrypted' : 'NOT encrypted'}): move it off this machine\n`;
    if (ca.rootKeysOnDisk.length === 0) text += '  root key     not in the data directory (offline)\n';
    return text;
  }
  prepareDataDir(config.dataDir);
  return withFileLock(path.join(config.dataDir, 'ca.lock'), log, async () => {
    if (command === 'create') {
      const made = await createCa({ ...common, ...(options['root-key-out'] ? { rootKeyFile: path.resolve(options['root-key-out']) } : {}) });
      return (
        `created a CA in ${path.resolve(config.dataDir, 'ca')}\n${describeCertificate('root CA', made.root)}${describeCertificate('issuing CA', made.issuing)}` +
        `  root key     ${made.rootKeyFile}${passphrase === undefined ? ' (NOT encrypted: no passphrase)' : ' (encrypted)'}\n\n` +
        'Move the root key off this machine now: the platform never reads it; `npm run ca -- issue-intermediate --root-key <file>` needs it.\n'
      );
    }
    if (command === 'new-root') return newRootReport(await newRoot({ ...common, ...rootKeyFiles(options) }), passphrase);
    if (command === 'retire-root') return retireRootReport(await retireRoot(common));
    const rolled = await issueIntermediate({ ...common, ...(options['root-key'] ? { rootKeyFile: path.resolve(options['root-key']) } : {}) });
    return (
      `new issuing CA\n${describeCertificate('issuing CA', rolled.issuing)}` +
      (rolled.retired
        ? `previous issuing CA kept in ${rolled.retired.file}: its device certificates stay accepted until ${new Date(rolled.retired.certificate.validTo).toISOString().slice(0, 10)}\n` +
          (rolled.retired.keyFile
            ? `its key kept in ${rolled.retired.keyFile}: the platform signs that CA's CRL with it (nothing else) until then\n`
            : 'its key was not kept: the platform publishes no CRL for that CA\n')
        : '') +
      '\nRestart every platform process: each loads the new issuing CA at start and reissues its server and message-signing certificates under it.\n' +
      'Then take the root key offline again.\n'
    );
  });
}

function rootKeyFiles(options: { 'root-key'?: string; 'root-key-out'?: string }): { rootKeyFile?: string; nextRootKeyFile?: string } {
  return {
    ...(options['root-key'] ? { rootKeyFile: path.resolve(options['root-key']) } : {}),
    ...(options['root-key-out'] ? { nextRootKeyFile: path.resolve(options['root-key-out']) } : {}),
  };
}

function newRootReport(made: Awaited<ReturnType<typeof newRoot>>, passphrase: string | undefined): string {
  return (
    `root rollover started\n${describeCertificate('next root', made.nextRoot)}${describeCertificate('cross', made.cross)}${describeCertificate('issuing CA', made.issuing)}` +
    `  next root key ${made.nextRootKeyFile}${passphrase === undefined ? ' (NOT encrypted: no passphrase)' : ' (encrypted)'}\n` +
    (made.retired ? `previous issuing CA kept in ${made.retired.file}: its device certificates stay accepted until it expires or root 1 is retired\n` : '') +
    '\nRestart every platform process: each trusts both roots, issues under the new issuing CA and sends devices the next root with its cross certificate.\n' +
    'Then take both root keys offline again. Devices learn the next root at their next renewal (or renew now); retire-root when they all know it.\n'
  );
}

function retireRootReport(retired: Awaited<ReturnType<typeof retireRoot>>): string {
  return (
    `root retired: the next root is now the root\n${describeCertificate('root CA', retired.root)}` +
    (retired.retiredRootFile
      ? `the retired root and its cross certificate are kept in ${path.dirname(retired.retiredRootFile)} (public, for the record)\n`
      : '') +
    retired.retiredIssuingMoved
      .map((file) => `retired issuing CA of the retired root moved to ${file}: its certificates are refused from the next start\n`)
      .join('') +
    retired.keysToDestroy.map((file) => `${file}: no longer needed, destroy it\n`).join('') +
    '\nRestart every platform process: from then on only devices that learnt the new root can connect.\n'
  );
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, options: { 'root-key': { type: 'string' }, 'root-key-out': { type: 'string' } } });
  } catch (error) {
    exitWithUsage(usage, (error as Error).message);
  }
  const [command, ...rest] = parsed.positionals;
  if (command === undefined || rest.length > 0 || !['status', 'create', 'issue-intermediate', 'new-root', 'retire-root'].includes(command))
    exitWithUsage(usage);
  const values = parsed.values;
  await runOperatorCommand('ca', (config) => run(command, values, config));
}

await main();
