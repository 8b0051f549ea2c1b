import type { CertificateAuthority, TlsCredentials } from '../certs/certificate-authority.ts';
import type { PlatformConfig } from '../config/config.ts';
import type { Logger } from '../log/logger.ts';
import { withCaLock } from './ca-lock.ts';

/** What holds the brokers' server certificate in this process: a broker, whose TLS listeners take the new one. */
interface ServerCertificateHolder {
  setServerCredentials(credentials: TlsCredentials): void;
}

/**
 * Reissue while running (docs/OPERATIONS.md, "The message-signing and server certificates"):
 * every PROVISIO_PLATFORM_CERT_CHECK_INTERVAL_SECONDS this process checks the server and signing
 * certificates it uses; when one has fewer than PROVISIO_PLATFORM_CERT_RENEWAL_DAYS left it takes
 * the CA lock and loads them again, reissuing those due with the code of the start (in a cluster
 * the first process reissues, the others load what it wrote). Then the brokers' TLS listeners get
 * the new server certificate (setSecureContext: open connections stay) and the signer, which reads
 * the CA's signing credentials at each signature, signs the next message with the new one.
 */
export function startLiveCertificateReissue(
  config: Pick<PlatformConfig, 'dataDir' | 'platformCertCheckIntervalSeconds'>,
  ca: CertificateAuthority,
  servers: readonly ServerCertificateHolder[],
  log: Logger,
): { close(): Promise<void> } {
  const reissueLog = log.child({ component: 'certificate-reissue' });
  const intervalMs = config.platformCertCheckIntervalSeconds * 1000;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let closed = false;

  async function check(): Promise<void> {
    if (!ca.leafCertificatesDue()) return;
    const changed = await withCaLock(config, reissueLog, () => ca.reloadLeafCertificates());
    if (changed.server !== null) {
      for (const server of servers) server.setServerCredentials(ca.serverCredentials);
      reissueLog.info({ serial: changed.server }, 'server certificate replaced while running: new TLS connections get it, open ones stay');
    }
    if (changed.signing !== null) {
      reissueLog.info({ serial: changed.signing }, 'message-signing certificate replaced while running: the next signed message uses it');
    }
  }

  function schedule(): void {
    if (closed) return;
    timer = setTimeout(() => {
      running = check()
        .catch((error: unknown) => reissueLog.warn({ err: error }, 'checking the server and signing certificates failed; next try at the next interval'))
        .finally(() => {
          running = null;
          schedule();
        });
    }, intervalMs);
    timer.unref();
  }

  schedule();
  return {
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
