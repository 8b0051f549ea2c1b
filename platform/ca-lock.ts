import { open, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { openCertificateAuthority, certificateAuthorityOptions, type CertificateAuthority } from '../certs/certificate-authority.ts';
import type { PlatformConfig } from '../config/config.ts';
import type { Logger } from '../log/logger.ts';
import { prepareDataDir } from './data-dir.ts';

/** A lock older than this is left over by a process that died while holding it. */
const staleLockMs = 60_000;

/**
 * Opens the CA in the shared data directory, creating it if this is the first process to
 * start. Processes of a cluster start together on one volume: the first takes {dataDir}/ca.lock
 * (O_EXCL), creates the CA, releases; the others wait, then load what it wrote.
 */
export async function openSharedCertificateAuthority(config: PlatformConfig, log: Logger): Promise<CertificateAuthority> {
  prepareDataDir(config.dataDir);
  const lockFile = path.join(config.dataDir, 'ca.lock');
  const deadline = Date.now() + 5 * staleLockMs;
  for (;;) {
    try {
      const handle = await open(lockFile, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = await stat(lockFile).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > staleLockMs) {
        log.warn({ lockFile }, 'removing a stale CA lock');
        await rm(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${lockFile} held for too long`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    return await openCertificateAuthority(certificateAuthorityOptions(config, log.child({ component: 'ca' })));
  } finally {
    await rm(lockFile, { force: true });
  }
}
