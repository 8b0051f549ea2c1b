import type { X509Certificate } from 'node:crypto';
import { verifyFactoryCertificate, type FactoryIdentity, type FactoryTrustAnchor } from '../certs/factory-certificate.ts';
import { PlatformError } from '../errors/platform-error.ts';
import type { EnrollmentGroup } from '../store/enrollment-types.ts';
import { chooseEnrollmentGroup } from '../store/enrollment-rules.ts';
import type { ProvisionStore } from '../store/types.ts';

/** A device its factory certificate admits, and the enrollment group it provisions into. */
export interface FactoryAdmission {
  readonly identity: FactoryIdentity;
  readonly group: EnrollmentGroup;
}

/**
 * The manufacturer CA list of one broker process, kept a few seconds: every factory CONNECT reads
 * it and it changes rarely. A CA registered or enabled takes effect within `ttlMs`; one disabled or
 * deleted at once, since the session-end notice that says so makes the list be read again
 * (forget(), broker/provision-broker.ts).
 */
export class TrustAnchorCache {
  private cached: { readonly list: Promise<readonly FactoryTrustAnchor[]>; readonly readAt: number } | null = null;

  constructor(
    private readonly store: Pick<ProvisionStore, 'listManufacturerCas'>,
    private readonly now: () => number,
    private readonly ttlMs = 5_000,
  ) {}

  list(): Promise<readonly FactoryTrustAnchor[]> {
    const at = this.now();
    if (!this.cached || at - this.cached.readAt >= this.ttlMs || at < this.cached.readAt) {
      const list = this.store.listManufacturerCas();
      this.cached = { list, readAt: at };
      // A failed read is not kept: the next CONNECT reads again.
      list.catch(() => {
        if (this.cached?.list === list) this.cached = null;
      });
    }
    return this.cached.list;
  }

  /** The next CONNECT reads the list again. */
  forget(): void {
    this.cached = null;
  }
}

export interface FactoryCertificateCheckOptions {
  readonly store: Pick<ProvisionStore, 'getFactoryCertificateBlock' | 'listEnrollmentGroups' | 'getDeviceAssignment'>;
  readonly trustAnchors: TrustAnchorCache;
  readonly now: () => number;
}

/** Groups read per page; a CA has few. */
const groupPage = 1000;

/**
 * The factory-certificate rule of the provision broker (docs/PROTOCOL.md §17), for a CONNECT
 * without a password whose TLS handshake presented a client certificate (the handshake proved
 * the device holds its key; the listener does not check the certificate itself):
 * - signed by a registered, enabled manufacturer CA, inside its validity, one subject CN, and that
 *   CN is the CONNECT clientId: else CERTIFICATE_INVALID;
 * - its serial not blocked on that CA: else FACTORY_CERTIFICATE_BLOCKED;
 * - an enrollment group on that CA takes it (store/enrollment-rules.ts chooseEnrollmentGroup, an
 *   operator's assignment first): else ENROLLMENT_REFUSED with the reason.
 * Blocks, groups and assignments are read at each CONNECT, so an operator's change holds at the
 * next one; the CA list is kept a few seconds (TrustAnchorCache).
 */
export function createFactoryCertificateCheck(options: FactoryCertificateCheckOptions) {
  const { store, now } = options;

  async function groupsOf(manufacturerCaId: string): Promise<EnrollmentGroup[]> {
    const groups: EnrollmentGroup[] = [];
    for (let offset = 0; ; offset += groupPage) {
      const page = await store.listEnrollmentGroups({ manufacturerCaId, offset, limit: groupPage });
      groups.push(...page.items);
      if (page.items.length < groupPage || groups.length >= page.total) return groups;
    }
  }

  return async function admit(clientId: string, peer: X509Certificate): Promise<FactoryAdmission> {
    const at = now();
    const verdict = verifyFactoryCertificate(peer, await options.trustAnchors.list(), at);
    if (!verdict.ok) throw new PlatformError('CERTIFICATE_INVALID', { detail: verdict.reason });
    const { identity } = verdict;
    if (identity.clientId !== clientId) throw new PlatformError('CERTIFICATE_INVALID', { detail: 'clientId is not the certificate CN' });
    if (await store.getFactoryCertificateBlock(identity.manufacturerCaId, identity.serial)) {
      throw new PlatformError('FACTORY_CERTIFICATE_BLOCKED', { detail: `serial ${identity.serial}` });
    }
    const [groups, assignment] = await Promise.all([groupsOf(identity.manufacturerCaId), store.getDeviceAssignment(identity.clientId)]);
    const choice = chooseEnrollmentGroup(groups, identity, assignment, at);
    if (choice.group === null) throw new PlatformError('ENROLLMENT_REFUSED', { detail: choice.reason });
    return { identity, group: choice.group };
  };
}
