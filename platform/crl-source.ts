/**
 * The published CRLs (issue 14 §2): one per issuing CA the platform signs for (the current one,
 * and each retired one whose key the rollover kept, until it expires), each listing the revoked
 * certificates that CA issued, as RFC 5280 wants of a relying party's CRL. All are signed together
 * and kept, signed again when a certificate is revoked and at half their validity, so that relying
 * parties always find a list well before its nextUpdate. A revocation reaches the publisher as the
 * session-end notice that ends the certificate's live session: directly in the process that
 * revoked, and through the session-end stream from the other processes of a cluster (platform/api-main.ts).
 */
import type { CertificateAuthority, RevokedCertificate, SignedCrl } from '../certs/certificate-authority.ts';
import type { SessionEnder, SessionEndNotice } from '../cluster/session-end-notice.ts';
import type { PlatformConfig } from '../config/schema.ts';
import type { Logger } from '../log/logger.ts';
import type { ProvisionStore } from '../store/types.ts';
import { publicCrlPathOf } from '../api/routes/certificates.ts';
import { publicHttpUrlOf } from './provisioner-deps.ts';

export interface CrlPublisher {
  /**
   * The current list of the issuing CA with this id (CrlIssuer.id), or of the issuing CA in use
   * when none is given: the one kept, or a new one when a revocation came since or half its
   * validity has passed. null: no list is signed for that id (unknown, expired, or its key was not kept).
   */
  current(issuingCaId?: string): Promise<SignedCrl | null>;
  /** A certificate was revoked: the next current() signs new lists. */
  invalidate(): void;
  /** Stops the refresh timer. */
  close(): void;
}

export interface CrlPublisherOptions {
  readonly ca: Pick<CertificateAuthority, 'crlIssuers' | 'crlIssuerIdOf'>;
  readonly store: Pick<ProvisionStore, 'listRevokedCertificates'>;
  /** nextUpdate − thisUpdate. */
  readonly validityMs: number;
  readonly log: Logger;
  readonly now?: () => number;
}

/** The lists signed together: by CrlIssuer.id, with the id of the issuing CA in use. */
interface CrlSet {
  readonly lists: ReadonlyMap<string, SignedCrl>;
  readonly currentId: string | undefined;
  readonly thisUpdate: number;
  readonly nextUpdate: number;
}

export function crlPublisher(options: CrlPublisherOptions): CrlPublisher {
  const now = options.now ?? Date.now;
  /** Grows with every revocation heard of; lists signed from an older generation are not served again. */
  let generation = 0;
  let kept: { readonly set: CrlSet; readonly generation: number } | null = null;
  let signing: { readonly promise: Promise<CrlSet>; readonly generation: number } | null = null;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  /** Which CA issued each revoked serial (read from its PEM once, not at every signing). */
  let issuerOfSerial = new Map<string, string | undefined>();

  const refreshAt = (set: CrlSet): number => set.thisUpdate + (set.nextUpdate - set.thisUpdate) / 2;

  function scheduleRefresh(set: CrlSet): void {
    clearTimeout(timer);
    if (closed) return;
    timer = setTimeout(
      () => void currentSet().catch((error: unknown) => options.log.error({ err: error }, 'CRL not signed again before its nextUpdate')),
      Math.max(0, refreshAt(set) - now()),
    );
    timer.unref();
  }

  async function sign(): Promise<CrlSet> {
    // A certificate past its notAfter is refused by date by every relying party; RFC 5280 §3.3
    // lets its entry go then, so the list does not grow with every renewal for ever.
    const signedOn = now();
    const revoked = (await options.store.listRevokedCertificates()).filter((certificate) => certificate.notAfter >= signedOn);
    const known = new Map<string, string | undefined>();
    const byIssuer = new Map<string, RevokedCertificate[]>();
    for (const certificate of revoked) {
      const issuerId = issuerOfSerial.has(certificate.serial) ? issuerOfSerial.get(certificate.serial) : options.ca.crlIssuerIdOf(certificate.pem);
      known.set(certificate.serial, issuerId);
      if (issuerId === undefined) continue; // issued by no CA we sign a list for
      const entries = byIssuer.get(issuerId) ?? [];
      entries.push({ serial: certificate.serial, revokedOn: certificate.revokedOn ?? certificate.createdOn });
      byIssuer.set(issuerId, entries);
    }
    issuerOfSerial = known;
    const lists = new Map<string, SignedCrl>();
    for (const issuer of options.ca.crlIssuers) {
      if (!issuer.current && issuer.notAfter <= signedOn) continue; // an expired CA's certificates are refused by date
      lists.set(issuer.id, issuer.signCrl(byIssuer.get(issuer.id) ?? [], { validForMs: options.validityMs }));
    }
    const currentId = options.ca.crlIssuers.find((issuer) => issuer.current)?.id;
    const first = lists.values().next().value;
    return { lists, currentId, thisUpdate: first?.thisUpdate ?? signedOn, nextUpdate: first?.nextUpdate ?? signedOn + options.validityMs };
  }

  function currentSet(): Promise<CrlSet> {
    if (kept && kept.generation === generation && now() < refreshAt(kept.set)) return Promise.resolve(kept.set);
    if (signing && signing.generation === generation) return signing.promise;
    const started = generation;
    const promise = sign().then(
      (set) => {
        if (signing?.promise === promise) signing = null;
        if (!kept || kept.generation <= started) {
          kept = { set, generation: started };
          scheduleRefresh(set);
        }
        return set;
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
    async current(issuingCaId) {
      const set = await currentSet();
      const id = issuingCaId ?? set.currentId;
      return (id !== undefined && set.lists.get(id)) || null;
    },
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
 * The URL written into device certificates (cRLDistributionPoints): that of the list of the
 * issuing CA with this id (none: the list of the issuing CA in use, /crl/issuing-ca.crl), under
 * PROVISIO_PUBLIC_HTTP_URL, else this host's API port. Normalised by the URL parser (a certificate
 * holds ASCII only: a space or a non-ASCII character is percent-encoded, a host name punycoded);
 * a base that is no URL stops start-up.
 */
export function publicCrlUrlOf(config: PlatformConfig, port = config.httpPort, issuingCaId?: string): string {
  return new URL(`${publicHttpUrlOf(config, port)}${publicCrlPathOf(issuingCaId)}`).href;
}
