import { timingSafeEqual, createHash } from 'node:crypto';
import { PlatformError } from '../errors/platform-error.ts';
import { isAcceptableClientId } from '../protocol/topics.ts';
import { verifySecret, hashSecret } from '../crypto/secret-hash.ts';
import type { ProvisionStore } from '../store/types.ts';
import type { BruteForceGuard, ConnectSource } from './brute-force-guard.ts';
import { addressKeyOf } from './connection-limits.ts';
import { deviceNamespacesOnProvisionBroker, type BrokerPrincipal } from './topic-acl.ts';

export interface ConnectAttempt {
  readonly clientId: string;
  readonly username: string | undefined;
  readonly password: Buffer | undefined;
  readonly remoteAddress: string;
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
  readonly now?: () => number;
  readonly onRefused?: (attempt: ConnectAttempt, error: PlatformError, reason: string) => void;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** provisionRequestId and accountId: what disabling or deleting the request, or deleting its account, names (broker/session-terminator.ts). */
export type AuthenticatedClient = BrokerPrincipal & { readonly provisionRequestId?: string; readonly accountId?: string };

const sha256 = (value: string | Buffer): Buffer => createHash('sha256').update(value).digest();
const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The provision broker's CONNECT rule. Accepted: internal workers with their own credentials, and
 * devices for which an ENABLED request matches clientId, username and password exactly and has not
 * expired. A request not active yet, or out of attempts but still ENABLED, is accepted too: the
 * provisioner answers its provision message (403 REQUEST_NOT_ACTIVE with retry.after.seconds;
 * the last attempt's certificate again, or 409 RETRIES_EXHAUSTED). Refused, with one rule that does
 * not reveal whether a clientId exists:
 * - CONNACK 2 for a clientId that could escape its namespace;
 * - CONNACK 5 while the (clientId, address) pair or the address is locked out (CONNECT_LOCKED_OUT),
 *   or when the credentials are right but the request has expired (only a holder of the password learns that);
 * - CONNACK 4 for everything else: no ENABLED request (unknown clientId, disabled, completed or
 *   failed request), wrong user name or password, after a password verification of the same cost either way.
 * Only CONNACK 4 refusals count as failures (broker/brute-force-guard.ts) and are held back; an
 * accepted CONNECT is never delayed, and clears its pair's and clientId's counts.
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

  /** CONNACK 4: counted by the guard, and held back as long as it says. */
  async function refuseCredentials(attempt: ConnectAttempt, reason: string): Promise<never> {
    const { delayMs, lockedOut } = options.guard.recordFailure(sourceOf(attempt));
    const error = new PlatformError('CONNECT_BAD_CREDENTIALS', { detail: reason });
    const locks = lockedOut.map((kind) => (kind === 'pair' ? 'clientId from this address' : 'address'));
    options.onRefused?.(attempt, error, locks.length > 0 ? `${reason}; now locked out: ${locks.join(', ')}` : reason);
    if (delayMs > 0) await sleep(delayMs);
    throw error;
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
    options.guard.recordSuccess(sourceOf(attempt));
    return {
      kind: 'device',
      account: options.provisioningAccount,
      clientId: attempt.clientId,
      namespaces: deviceNamespacesOnProvisionBroker(options.provisioningAccount, attempt.clientId),
      provisionRequestId: request.id,
      accountId: request.accountId,
    };
  };
}
