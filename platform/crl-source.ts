/**
 * The published CRL (issue 14 §2): signed once and kept, signed again when a certificate is
 * revoked and at half its validity, so that relying parties always find a list well before its
 * nextUpdate. A revocation reaches the publisher as the session-end notice that ends the
 * certificate's live session: directly in the process that revoked, and through the session-end
 * stream from the other processes of a cluster (platform/api-main.ts).
 */
import type { CertificateAuthority, SignedCrl } from '../certs/certificate-authority.ts';
import type { SessionEnder, SessionEndNotice } from '../cluster/session-end-notice.ts';
import type { PlatformConfig } from '../config/schema.ts';
import type { Logger } from '../log/logger.ts';
import type { ProvisionStore } from '../store/types.ts';
import { publicCrlPath } from '../api/routes/certificates.ts';
import { publicHttpUrlOf } from './provisioner-deps.ts';

export interface CrlPublisher {
  /** The current list: the one kept, or a new one when a revocation came since or half its validity has passed. */
  current(): Promise<SignedCrl>;
  /** A certificate was revoked: the next current() signs a new list. */
  invalidate(): void;
  /** Stops the refresh timer. */
  close(): void;
}

export interface CrlPublisherOptions {
  readonly ca: Pick<CertificateAuthority, 'signCrl'>;
  readonly store: Pick<ProvisionStore, 'listRevokedCertificates'>;
  /** nextUpdate − thisUpdate. */
  readonly validityMs: number;
  readonly log: Logger;
  readonly now?: () => number;
}

export function crlPublisher(options: CrlPublisherOptions): CrlPublisher {
  const now = options.now ?? Date.now;
  /** Grows with every revocation heard of; a list signed from an older generation is not served again. */
  let generation = 0;
  let kept: { readonly crl: SignedCrl; readonly generation: number } | null = null;
  let signing: { readonly promise: Promise<SignedCrl>; readonly generation: number } | null = null;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const refreshAt = (crl: SignedCrl): number => crl.thisUpdate + (crl.nextUpdate - crl.thisUpdate) / 2;

  function scheduleRefresh(crl: SignedCrl): void {
    clearTimeout(timer);
    if (closed) return;
    timer = setTimeout(
      () => void current().catch((error: unknown) => options.log.error({ err: error }, 'CRL not signed again before its nextUpdate')),
      Math.max(0, refreshAt(crl) - now()),
    );
    timer.unref();
  }

  async function sign(): Promise<SignedCrl> {
    // A certificate past its notAfter is refused by date by every relying party; RFC 5280 §3.3
    // lets its entry go then, so the list does not grow with every renewal for ever.
    const signedOn = now();
    const revoked = (await options.store.listRevokedCertificates()).filter((certificate) => certificate.notAfter >= signedOn);
    return options.ca.signCrl(
      revoked.map((certificate) => ({ serial: certificate.serial, revokedOn: certificate.revokedOn ?? certificate.createdOn })),
      { validForMs: options.validityMs },
    );
  }

  function current(): Promise<SignedCrl> {
    if (kept && kept.generation === generation && now() < refreshAt(kept.crl)) return Promise.resolve(kept.crl);
    if (signing && signing.generation === generation) return signing.promise;
    const started = generation;
    const promise = sign().then(
      (crl) => {
        if (signing?.promise === promise) signing = null;
        if (!kept || kept.generation <= started) {
          kept = { crl, generation: started };
          scheduleRefresh(crl);
        }
        return crl;
      },
      (error: unknown) => {
        if (signing?.promise === promise) signing = null;
        throw error;
      },
    );
    signing = { promise, generation: started };
    return promise;
  }

  return {
    current,
    invalidate() {
      generation += 1;
    },
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}

/** Notices that may follow a revocation: every certificate notice (revoked or superseded) comes after the store recorded it. */
export function isRevocationNotice(notice: SessionEndNotice): boolean {
  return notice.kind === 'certificate';
}

/** The SessionEnder of a process that revokes: the CRL is marked stale before the sessions are ended. */
export function revocationsRefreshCrl(sessions: SessionEnder, crl: CrlPublisher): SessionEnder {
  return {
    async endSessions(notice) {
      if (isRevocationNotice(notice)) crl.invalidate();
      await sessions.endSessions(notice);
    },
  };
}

/**
 * The URL written into device certificates (cRLDistributionPoints): PROVISIO_PUBLIC_HTTP_URL, else
 * this host's API port. Normalised by the URL parser (a certificate holds ASCII only: a space or a
 * non-ASCII character is percent-encoded, a host name punycoded); a base that is no URL stops start-up.
 */
export function publicCrlUrlOf(config: PlatformConfig, port = config.httpPort): string {
  return new URL(`${publicHttpUrlOf(config, port)}${publicCrlPath}`).href;
}
