/**
 * What discovery answers a certificate (docs/PROTOCOL.md §19): where a device with a factory
 * certificate goes to provision, or where a device with an operational certificate of this
 * platform goes to work. The TLS handshake only proved that the peer holds the certificate's key;
 * everything else about the certificate is checked here.
 */
import type { X509Certificate } from 'node:crypto';
import { readCertificate } from '../../certs/certificate-reader.ts';
import { verifyFactoryCertificate, type FactoryIdentity } from '../../certs/factory-certificate.ts';
import { fromPem } from '../../certs/pem.ts';
import { PlatformError } from '../../errors/platform-error.ts';
import { chooseEnrollmentGroup } from '../../store/enrollment-rules.ts';
import type { EnrollmentGroup } from '../../store/enrollment-types.ts';
import type { ProvisionStore } from '../../store/types.ts';

/** The body of a 200 answer. */
export type DiscoveryAnswerBody =
  | {
      readonly clientId: string;
      readonly kind: 'provision';
      readonly brokerUrl: string;
      /** The account of the group that takes the device; null when no group here takes it (another instance decides). */
      readonly account: string | null;
      readonly enrollmentGroup: { readonly id: string; readonly name: string } | null;
    }
  | {
      readonly clientId: string;
      readonly kind: 'account';
      readonly brokerUrl: string;
      readonly account: string;
    };

/** An answer and what its audit event records besides. */
export interface DiscoveryAnswer {
  readonly body: DiscoveryAnswerBody;
  readonly accountId: string | null;
  /** The presented certificate's serial, lower-case hex. */
  readonly serial: string;
  readonly manufacturerCaId: string | null;
}

export type DiscoveryStore = Pick<
  ProvisionStore,
  'listManufacturerCas' | 'getFactoryCertificateBlock' | 'listEnrollmentGroups' | 'getDeviceAssignment' | 'getAccount' | 'getCertificate'
>;

export interface DiscoveryRules {
  readonly store: DiscoveryStore;
  /** The CAs whose certificates are operational certificates of this platform: the issuing CA and earlier ones still valid. */
  readonly platformCas: readonly X509Certificate[];
  /** This platform's provision broker as devices reach it (PROVISIO_PROVISION_BROKER_URL, else derived). */
  readonly provisionBrokerUrl: string;
  /** The account broker for accounts without a broker URL of their own (PROVISIO_ACCOUNT_BROKER_URL, else derived). */
  readonly accountBrokerUrl: string;
  readonly now?: () => number;
}

function invalid(detail: string): PlatformError {
  return new PlatformError('CERTIFICATE_INVALID', { detail });
}

/** Every group on the manufacturer CA, oldest first (a CA has few; pages of 1000 all the same). */
async function groupsOf(store: DiscoveryStore, manufacturerCaId: string): Promise<EnrollmentGroup[]> {
  const groups: EnrollmentGroup[] = [];
  for (;;) {
    const page = await store.listEnrollmentGroups({ manufacturerCaId, offset: groups.length, limit: 1000 });
    groups.push(...page.items);
    if (page.items.length === 0 || groups.length >= page.total) return groups;
  }
}

/**
 * A factory certificate: blocked → FACTORY_CERTIFICATE_BLOCKED. Otherwise the broker URL is the
 * operator's assignment's, else the chosen group's, else this platform's. A device no group takes
 * is still sent here: the provision broker refuses it with the reason (§17), which the device and
 * the operator see there.
 */
async function answerFactory(rules: DiscoveryRules, identity: FactoryIdentity, now: number): Promise<DiscoveryAnswer> {
  const { store } = rules;
  const block = await store.getFactoryCertificateBlock(identity.manufacturerCaId, identity.serial);
  if (block) throw new PlatformError('FACTORY_CERTIFICATE_BLOCKED', { detail: `serial ${identity.serial}` });
  const [groups, assignment] = await Promise.all([groupsOf(store, identity.manufacturerCaId), store.getDeviceAssignment(identity.clientId)]);
  const choice = chooseEnrollmentGroup(groups, identity, assignment, now);
  const group = choice.group;
  const account = group ? await store.getAccount(group.accountId) : null;
  return {
    body: {
      clientId: identity.clientId,
      kind: 'provision',
      brokerUrl: assignment?.provisionBrokerUrl ?? group?.provisionBrokerUrl ?? rules.provisionBrokerUrl,
      account: account?.name ?? null,
      enrollmentGroup: group ? { id: group.id, name: group.name } : null,
    },
    accountId: account?.id ?? null,
    serial: identity.serial,
    manufacturerCaId: identity.manufacturerCaId,
  };
}

/**
 * An operational certificate, held to what the account broker holds it to (broker/account-authenticator.ts):
 * byte for byte one this platform issued and recorded, not revoked, valid now, its one CN the
 * clientId it was recorded for, its account still there.
 */
async function answerOperational(rules: DiscoveryRules, peer: X509Certificate, now: number): Promise<DiscoveryAnswer> {
  const { store } = rules;
  const record = await store.getCertificate(peer.serialNumber.toLowerCase());
  if (!record || !fromPem(record.pem, ['CERTIFICATE'])?.equals(peer.raw)) throw invalid('certificate not issued by this platform');
  if (record.status !== 'VALID') throw invalid('the certificate is revoked');
  if (now < record.notBefore || now > record.notAfter) throw invalid('outside its validity');
  const commonNames = readCertificate(peer.raw).subject.commonNames;
  if (commonNames.length !== 1 || commonNames[0] !== record.clientId) throw invalid('the certificate CN is not the clientId it was issued to');
  const account = await store.getAccount(record.accountId);
  if (!account) throw invalid('the account of the certificate no longer exists');
  return {
    body: { clientId: record.clientId, kind: 'account', brokerUrl: account.brokerUrl ?? rules.accountBrokerUrl, account: account.name },
    accountId: account.id,
    serial: record.serial,
    manufacturerCaId: null,
  };
}

/**
 * The answer to the client certificate of a discovery request. A certificate one of this
 * platform's CAs signed is taken as an operational one (no store read to tell); anything else
 * must be a factory certificate of a registered manufacturer CA. Throws CERTIFICATE_INVALID,
 * FACTORY_CERTIFICATE_BLOCKED, or the store's errors (STORE_UNAVAILABLE).
 */
export async function answerDiscovery(rules: DiscoveryRules, peer: X509Certificate): Promise<DiscoveryAnswer> {
  const now = (rules.now ?? Date.now)();
  if (rules.platformCas.some((ca) => peer.checkIssued(ca) && peer.verify(ca.publicKey))) return answerOperational(rules, peer, now);
  const verdict = verifyFactoryCertificate(peer, await rules.store.listManufacturerCas(), now);
  if (!verdict.ok) throw invalid(verdict.reason);
  return answerFactory(rules, verdict.identity, now);
}
