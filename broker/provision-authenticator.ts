import { timingSafeEqual, createHash } from 'node:crypto';
import { PlatformError } from '../errors/platform-error.ts';
import { isAcceptableClientId } from '../protocol/topics.ts';
import { verifySecret, hashSecret } from '../store/secret-hash.ts';
import type { ProvisionRequest, ProvisionStore } from '../store/types.ts';
import { BruteForceGuard } from './brute-force-guard.ts';
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

export type AuthenticatedClient = BrokerPrincipal & { readonly provisionRequestId?: string };

const sha256 = (value: string | Buffer): Buffer => createHash('sha256').update(value).digest();
const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The provision broker's CONNECT rule. Accepted: internal workers with their own credentials,
 * and devices for which an ENABLED request matches clientId, username and password exactly and
 * is usable now. Refused, with one rule that does not reveal whether a clientId exists:
 * - CONNACK 2 for a clientId that could escape its namespace;
 * - CONNACK 5 while the clientId or address is locked out, or when the credentials are right but
 *   the request is not active yet, expired or out of attempts (only a holder of the password learns that);
 * - CONNACK 4 for everything else (unknown clientId, wrong user name or password, used-up request),
 *   after a password verification of the same cost either way.
 */
export function createProvisionAuthenticator(options: ProvisionAuthenticatorOptions) {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const internalPassword = sha256(options.internal.password);
  // Verified against when no request exists, so that an unknown clientId costs what a known one with
  // a generated password does (operator-chosen passwords cost a KDF more: docs/SECURITY.md).
  const decoyHash = hashSecret('decoy-password-never-matches', 'generated');

  async function refuse(attempt: ConnectAttempt, code: 'CONNECT_BAD_CREDENTIALS' | 'CONNECT_NOT_AUTHORIZED', reason: string): Promise<never> {
    const keys = [`client:${attempt.clientId}`, `address:${attempt.remoteAddress}`];
    const { delayMs, lockedOut } = options.guard.recordFailure(keys);
    const error = new PlatformError(code, { detail: reason });
    options.onRefused?.(attempt, error, lockedOut ? `${reason}; now locked out` : reason);
    if (delayMs > 0) await sleep(delayMs);
    throw error;
  }

  // The user name is not the secret: devices (every CONNECT but a few) are told apart by it
  // without hashing anything; the password is compared in constant time.
  function isInternal(attempt: ConnectAttempt): boolean {
    if (attempt.username !== options.internal.username || attempt.password === undefined) return false;
    return timingSafeEqual(sha256(attempt.password), internalPassword);
  }

  function usableNow(request: ProvisionRequest): string | null {
    const time = now();
    if (request.activatesOn > time) return 'request not active yet';
    if (request.expiresOn <= time) return 'request expired';
    if (request.retryCount >= request.retryMaxAttempts) return 'request out of attempts';
    return null;
  }

  return async function authenticate(attempt: ConnectAttempt): Promise<AuthenticatedClient> {
    if (!isAcceptableClientId(attempt.clientId)) {
      const error = new PlatformError('CONNECT_CLIENT_ID_INVALID');
      options.onRefused?.(attempt, error, 'clientId not acceptable');
      throw error;
    }
    const lockedFor = options.guard.lockedForSeconds([`client:${attempt.clientId}`, `address:${attempt.remoteAddress}`]);
    if (lockedFor > 0) {
      const error = new PlatformError('CONNECT_LOCKED_OUT', { retryAfterSeconds: lockedFor });
      options.onRefused?.(attempt, error, `locked out for ${lockedFor} s`);
      throw error;
    }
    if (isInternal(attempt)) return { kind: 'internal' };
    if (attempt.username === undefined || attempt.password === undefined) {
      return refuse(attempt, 'CONNECT_BAD_CREDENTIALS', 'no user name or password');
    }
    const request = await options.store.findEnabledProvisionRequest(attempt.clientId);
    const password = attempt.password.toString('utf8');
    const passwordMatches = await verifySecret(password, request?.passwordHash ?? (await decoyHash));
    if (!request || !passwordMatches || request.username !== attempt.username) {
      return refuse(attempt, 'CONNECT_BAD_CREDENTIALS', request ? 'wrong user name or password' : 'no enabled request');
    }
    const unusable = usableNow(request);
    if (unusable) return refuse(attempt, 'CONNECT_NOT_AUTHORIZED', unusable);
    options.guard.recordSuccess(`client:${attempt.clientId}`);
    return {
      kind: 'device',
      account: options.provisioningAccount,
      clientId: attempt.clientId,
      namespaces: deviceNamespacesOnProvisionBroker(options.provisioningAccount, attempt.clientId),
      provisionRequestId: request.id,
    };
  };
}

export type ProvisionAuthenticate = ReturnType<typeof createProvisionAuthenticator>;
