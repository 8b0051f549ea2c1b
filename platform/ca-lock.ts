import path from 'node:path';
import { openCertificateAuthority, certificateAuthorityOptions, type CertificateAuthority } from '../certs/certificate-authority.ts';
import type { PlatformConfig } from '../config/config.ts';
import type { Logger } from '../log/logger.ts';
import { publicCrlUrlOf } from './crl-source.ts';
import { prepareDataDir } from './data-dir.ts';
import { withFileLock } from './file-lock.ts';

/**
 * Opens the CA in the shared data directory, creating it if this is the first process to
 * start. Processes of a cluster start together on one volume: the first takes {dataDir}/ca.lock
 * (platform/file-lock.ts), creates the CA, releases; the others wait, then load what it wrote.
 */
export async function openSharedCertificateAuthority(config: PlatformConfig, log: Logger): Promise<CertificateAuthority> {
  prepareDataDir(config.dataDir);
  publicCrlUrlOf(config); // a PROVISIO_PUBLIC_HTTP_URL that is no URL stops start-up here
  return withCaLock(config, log, () =>
    // Device certificates name the CRL of their issuing CA that the API process publishes (PROVISIO_PUBLIC_HTTP_URL).
    openCertificateAuthority({
      ...certificateAuthorityOptions(config, log.child({ component: 'ca' })),
      crlDistributionPoint: (issuingCaId) => publicCrlUrlOf(config, config.httpPort, issuingCaId),
    }),
  );
}

/** Runs `work` holding {dataDir}/ca.lock: what every process of a cluster takes before writing CA files. */
export function withCaLock<T>(config: Pick<PlatformConfig, 'dataDir'>, log: Logger, work: () => Promise<T>): Promise<T> {
  return withFileLock(path.join(config.dataDir, 'ca.lock'), log, work);
}
