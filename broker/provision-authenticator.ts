import { timingSafeEqual, createHash, type X509Certificate } from 'node:crypto';
import type { ProvisioningCodeKeys } from '../crypto/provisioning-code-hash.ts';
import { PlatformError, isPlatformError } from '../errors/platform-error.ts';
import type { ErrorCode } from '../errors/catalogue.ts';
import { provisioningCodeUsername } from '../protocol/enrollment.ts';
import { isAcceptableClientId } from '../protocol/topics.ts';
import { verifySecret, hashSecret } from '../crypto/secret-hash.ts';
import type { ProvisionRequest, ProvisionStore } from '../store/types.ts';
import type { BruteForceGuard, ConnectSource } from './brute-force-guard.ts';
import type { CodeFailureBudget } from './code-failure-budget.ts';
import { addressKeyOf } from './connection-limits.ts';
import { enrollmentRequestFor, type EnrollmentRequestOptions } from './enrollment-requests.ts';
import { createFactoryCertificateCheck, type TrustAnchorCache } from './factory-certificate-authenticator.ts';
import { createProvisioningCodeCheck } from './provisioning-code-authenticator.ts';
import type { SessionFacts } from './session-terminator.ts';
import { deviceNamespacesOnProvisionBroker, type BrokerPrincipal } from './topic-acl.ts';

export interface ConnectAttempt {
  readonly clientId: string;
  readonly username: string | undefined;
  readonly password: Buffer | undefined;
  readonly remoteAddress: string;
  /**
   * The client certificate the TLS handshake received, not checked by the listener (a factory
   * certificate, docs/PROTOCOL.md §17); undefined without one or over plain TCP.
   */
  readonly peerCertificate?: () => X509Certificate | undefined;
}

/** Zero-touch onboarding (docs/PROTOCOL.md §16–§18): what the factory-certificate and code paths need. */
export interface EnrollmentSettings {
  /** The provisioning code hash keys (crypto/provisioning-code-hash.ts), from the platform secrets. */
  readonly codeKeys: ProvisioningCodeKeys;
  /** The broker's budget of wrong codes (PROVISIO_PROVISIONING_CODE_FAILURES_PER_MINUTE). */
  readonly codeFailures: CodeFailureBudget;
  /** The validity of a request made on the fly, as the API's default. */
  readonly requestDefaultValidityDays: number;
  /** The manufacturer CAs factory certificates are checked against. */
  readonly trustAnchors: TrustAnchorCache;
}

export interface InternalCredentials {
  readonly username: string;
  readonly password: string;
}

export interface ProvisionAuthenticatorOptions {
  readonly store: ProvisionStore;
  readonly provisioningAccount: string;
  readonly internal: InternalCredentials;
  readonly guard: BruteForceGuard;
  readonly enrollment: EnrollmentSettings;
  readonly now?: () => number;
  readonly onRefused?: (attempt: ConnectAttempt, error: PlatformError, reason: string) => void;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * provisionRequestId and accountId: what disabling or deleting the request, or deleting its
 * account, names; a factory device's CA, serial and group: what blocking it or disabling them
 * names (broker/session-terminator.ts).
 */
export type AuthenticatedClient = BrokerPrincipal & SessionFacts;

/** Refusals of the factory-certificate and code paths: counted by the guard and held back as CONNACK 4 is (PROTOCOL.md §17). */
const enrollmentRefusals: ReadonlySet<ErrorCode> = new Set([
  'CONNECT_BAD_CREDENTIALS',
  'CONNECT_LOCKED_OUT',
  'CERTIFICATE_INVALID',
  'FACTORY_CERTIFICATE_BLOCKED',
  'ENROLLMENT_REFUSED',
]);

const sha256 = (value: string | Buffer): Buffer => createHash('sha256').update(value).digest();
const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The provision broker's CONNECT rule. Accepted: internal workers with their own credentials,
 * devices for which an ENABLED request matches clientId, username and password exactly and has not
 * expired, and devices a provisioning code or a factory certificate admits (user name
 * `provisioning-code`: the code path; else a password: the request's path; else a TLS client
 * certificate: the factory path; docs/PROTOCOL.md §16–§18), for which a request is made on the fly
 * (enrollment-requests.ts). A request not active yet, or out of attempts but still ENABLED, is accepted too: the
 * provisioner answers its provision message (403 REQUEST_NOT_ACTIVE with retry.after.seconds;
 * the last attempt's certificate again, or 409 RETRIES_EXHAUSTED). Refused, with one rule that does
 * not reveal whether a clientId exists:
 * - CONNACK 2 for a clientId that could escape its namespace;
 * - CONNACK 5 while the (clientId, address) pair or the address is locked out (CONNECT_LOCKED_OUT),
 *   or when the credentials are right but the request has expired (only a holder of the password learns that);
 * - CONNACK 4 for everything else: no ENABLED request (unknown clientId, disabled, completed or
 *   failed request), wrong user name or password, after a password verification of the same cost
 *   either way; a provisioning code that does not admit the device (provisioning-code-authenticator.ts);
 * - CONNACK 5 for a factory certificate that is not valid, blocked, or that no group admits
 *   (factory-certificate-authenticator.ts), for a device whose request cannot be made (enrollment-requests.ts),
 *   and to every code while the broker's budget of wrong codes is spent.
 * CONNACK 4 refusals and every refusal of the factory and code paths count as failures
 * (broker/brute-force-guard.ts) and are held back; an accepted CONNECT is never delayed, and
 * clears its pair's and clientId's counts.
 */
export function createProvisionAuthenticator(options: ProvisionAuthenticatorOptions) {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const internalPassword = sha256(options.internal.password);
  // Verified against when no request exists, so that an unknown clientId costs what a known one with
  // a generated password does (operator-chosen passwords cost a KDF more: docs/SECURITY.md).
  const decoyHash = hashSecret('decoy-password-never-matches', 'generated');

  // IPv6 senders are counted per /64 (one host usually holds the whole network), as the connection limits do.
  const sourceOf = (attempt: ConnectAttempt): ConnectSource => ({ clientId: attempt.clientId, address: addressKeyOf(attempt.remoteAddress) });

  /** A refusal counted by the guard, and held back as long as it says. */
  async function refuseCounted(attempt: ConnectAttempt, error: PlatformError): Promise<never> {
    const { delayMs, lockedOut } = options.guard.recordFailure(sourceOf(attempt));
    const reason = error.detail ?? error.code;
    const locks = lockedOut.map((kind) => (kind === 'pair' ? 'clientId from this address' : 'address'));
    options.onRefused?.(attempt, error, locks.length > 0 ? `${reason}; now locked out: ${locks.join(', ')}` : reason);
    if (delayMs > 0) await sleep(delayMs);
    throw error;
  }

  /** CONNACK 4: counted by the guard, and held back as long as it says. */
  function refuseCredentials(attempt: ConnectAttempt, reason: string): Promise<never> {
    return refuseCounted(attempt, new PlatformError('CONNECT_BAD_CREDENTIALS', { detail: reason }));
  }

  const requests: EnrollmentRequestOptions = { store: options.store, config: options.enrollment, now };
  const admitFactory = createFactoryCertificateCheck({ store: options.store, trustAnchors: options.enrollment.trustAnchors, now });
  const codes = createProvisioningCodeCheck({
    store: options.store,
    keys: options.enrollment.codeKeys,
    budget: options.enrollment.codeFailures,
    now,
  });

  /** A device admitted with `request`: its pair's and clientId's counts are cleared as for a right password. */
  function admitted(attempt: ConnectAttempt, request: ProvisionRequest, facts: SessionFacts = {}): AuthenticatedClient {
    options.guard.recordSuccess(sourceOf(attempt));
    return {
      kind: 'device',
      account: options.provisioningAccount,
      clientId: attempt.clientId,
      namespaces: deviceNamespacesOnProvisionBroker(options.provisioningAccount, attempt.clientId),
      ...facts,
      provisionRequestId: request.id,
      accountId: request.accountId,
    };
  }

  /** The factory-certificate and code paths: their refusals counted and held back; store faults pass (CONNACK 3). */
  async function counting(attempt: ConnectAttempt, path: () => Promise<AuthenticatedClient>): Promise<AuthenticatedClient> {
    try {
      return await path();
    } catch (error) {
      if (isPlatformError(error) && enrollmentRefusals.has(error.code)) return refuseCounted(attempt, error);
      throw error;
    }
  }

  function viaProvisioningCode(attempt: ConnectAttempt, password: Buffer): Promise<AuthenticatedClient> {
    return counting(attempt, async () => {
      const code = await codes.check(attempt.clientId, password);
      const made = await enrollmentRequestFor(requests, attempt.clientId, { kind: 'provisioning-code', code });
      await codes.bind(code, attempt.clientId, made, requests);
      return admitted(attempt, made.request);
    });
  }

  function viaFactoryCertificate(attempt: ConnectAttempt, peer: X509Certificate): Promise<AuthenticatedClient> {
    return counting(attempt, async () => {
      const { identity, group } = await admitFactory(attempt.clientId, peer);
      const made = await enrollmentRequestFor(requests, attempt.clientId, { kind: 'factory-certificate', group, serial: identity.serial });
      return admitted(attempt, made.request, { manufacturerCaId: identity.manufacturerCaId, factorySerial: identity.serial, enrollmentGroupId: group.id });
    });
  }

  // The user name is not the secret: devices (every CONNECT but a few) are told apart by it
  // without hashing anything; the password is compared in constant time.
  function isInternal(attempt: ConnectAttempt): boolean {
    if (attempt.username !== options.internal.username || attempt.password === undefined) return false;
    return timingSafeEqual(sha256(attempt.password), internalPassword);
  }

  return async function authenticate(attempt: ConnectAttempt): Promise<AuthenticatedClient> {
    if (!isAcceptableClientId(attempt.clientId)) {
      const error = new PlatformError('CONNECT_CLIENT_ID_INVALID');
      options.onRefused?.(attempt, error, 'clientId not acceptable');
      throw error;
    }
    const lockedFor = options.guard.lockedForSeconds(sourceOf(attempt));
    if (lockedFor > 0) {
      const error = new PlatformError('CONNECT_LOCKED_OUT', { retryAfterSeconds: lockedFor });
      options.onRefused?.(attempt, error, `locked out for ${lockedFor} s`);
      throw error;
    }
    if (isInternal(attempt)) return { kind: 'internal' };
    if (attempt.username === provisioningCodeUsername) {
      return attempt.password === undefined ? refuseCredentials(attempt, 'no provisioning code') : viaProvisioningCode(attempt, attempt.password);
    }
    // A CONNECT with a password is checked as in §2 and never as a factory device.
    if (attempt.password === undefined) {
      const peer = attempt.peerCertificate?.();
      if (peer) return viaFactoryCertificate(attempt, peer);
    }
    if (attempt.username === undefined || attempt.password === undefined) {
      return refuseCredentials(attempt, 'no user name or password');
    }
    const request = await options.store.findEnabledProvisionRequest(attempt.clientId);
    const password = attempt.password.toString('utf8');
    const passwordMatches = await verifySecret(password, request?.passwordHash ?? (await decoyHash));
    if (!request || !passwordMatches || request.username !== attempt.username) {
      return refuseCredentials(attempt, request ? 'wrong user name or password' : 'no enabled request');
    }
    // The password is right: not a guess, so neither counted nor delayed.
    if (request.expiresOn <= now()) {
      const error = new PlatformError('CONNECT_NOT_AUTHORIZED', { detail: 'request expired' });
      options.onRefused?.(attempt, error, 'request expired');
      throw error;
    }
    return admitted(attempt, request);
  };
}
