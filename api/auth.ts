import { createHash, timingSafeEqual } from 'node:crypto';
import type { PlatformConfig } from '../config/schema.ts';
import { PlatformError } from '../errors/platform-error.ts';
import { verifySecret } from '../crypto/secret-hash.ts';
import type { ProvisionStore } from '../store/types.ts';
import { adminTokenHashSetting, isApiTokenUsable, markApiTokenUsed, parseApiToken, readApiToken } from './api-tokens.ts';
import type { TokenScope } from './token-scopes.ts';

/**
 * Who is calling. kind 'admin' reaches every account: the admin token (actor 'admin', scope
 * admin) or a global API token (actor its id); kind 'account' is a token bound to one account.
 * The scope says what it may do there (api/token-scopes.ts), checked for every route by
 * api/register-routes.ts. The actor is what the audit log records for its writes.
 */
export type Principal =
  | { readonly kind: 'admin'; readonly actor: string; readonly scope: TokenScope; readonly tokenId: string | null }
  | { readonly kind: 'account'; readonly actor: string; readonly scope: TokenScope; readonly tokenId: string; readonly accountId: string };

export const adminPrincipal: Principal = Object.freeze({ kind: 'admin', actor: 'admin', scope: 'admin', tokenId: null });

export interface ApiTokenAuthenticatorOptions {
  /** A token's last use is written at most this often per token and process (default 60 s), so reads stay reads. */
  readonly lastUsedResolutionMs?: number;
  readonly now?: () => number;
}

const maxTokenLength = 512;
const maxCacheEntries = 10_000;

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Verifies bearer tokens. An API token's record is read from the store on every request (one
 * GET), so a revocation or an expiry holds at once on every process sharing the store, with
 * nothing to invalidate. What is remembered is only the costly part: that a token's secret
 * matches a stored hash (keyed by the token's sha256 and that hash), so a busy client does not
 * pay scrypt on every request.
 */
export class ApiTokenAuthenticator {
  /** sha256(token) → the stored hash its secret was verified against. */
  private readonly verifiedSecrets = new Map<string, string>();
  /** token id → when this process last recorded its use. */
  private readonly usesRecorded = new Map<string, number>();
  private readonly lastUsedResolutionMs: number;
  private readonly now: () => number;
  private readonly configuredAdminDigest: Buffer | null;
  private storedAdminHash: string | null = null;
  private verifiedAdminDigest: Buffer | null = null;

  constructor(
    private readonly store: ProvisionStore,
    config: Pick<PlatformConfig, 'adminToken'>,
    options: ApiTokenAuthenticatorOptions = {},
  ) {
    this.lastUsedResolutionMs = options.lastUsedResolutionMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.configuredAdminDigest = config.adminToken !== undefined ? sha256(config.adminToken) : null;
  }

  /** Checks an Authorization header; throws UNAUTHENTICATED. */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(authorization ?? '');
    if (!match) throw new PlatformError('UNAUTHENTICATED', { detail: 'send Authorization: Bearer <token>' });
    const principal = await this.verifyToken(match[1]!);
    if (!principal) throw new PlatformError('UNAUTHENTICATED');
    return principal;
  }

  async verifyToken(token: string): Promise<Principal | null> {
    if (token.length === 0 || token.length > maxTokenLength) return null;
    const digest = sha256(token);
    if (await this.isAdminToken(token, digest)) return adminPrincipal;
    const parsed = parseApiToken(token);
    if (!parsed) return null;
    const stored = await readApiToken(this.store, parsed.id);
    const now = this.now();
    if (!stored || !isApiTokenUsable(stored.record, now)) return null;
    if (!(await this.secretMatches(digest, parsed.secret, stored.record.hash))) return null;
    const { accountId, scope } = stored.record;
    if (accountId !== null && !(await this.store.getAccount(accountId))) return null;
    await this.recordUse(parsed.id, now);
    const id = parsed.id;
    return accountId === null ? { kind: 'admin', actor: id, scope, tokenId: id } : { kind: 'account', actor: id, scope, tokenId: id, accountId };
  }

  private async isAdminToken(token: string, digest: Buffer): Promise<boolean> {
    if (this.configuredAdminDigest) return timingSafeEqual(digest, this.configuredAdminDigest);
    if (this.verifiedAdminDigest) return timingSafeEqual(digest, this.verifiedAdminDigest);
    if (token.includes('.')) return false;
    this.storedAdminHash ??= await this.store.getSetting(adminTokenHashSetting);
    if (this.storedAdminHash === null || !(await verifySecret(token, this.storedAdminHash))) return false;
    this.verifiedAdminDigest = digest;
    return true;
  }

  private async secretMatches(digest: Buffer, secret: string, hash: string): Promise<boolean> {
    const key = digest.toString('base64');
    if (this.verifiedSecrets.get(key) === hash) return true;
    if (!(await verifySecret(secret, hash))) return false;
    if (this.verifiedSecrets.size >= maxCacheEntries) this.verifiedSecrets.clear();
    this.verifiedSecrets.set(key, hash);
    return true;
  }

  /** Writes lastUsedOn at most once per resolution per token on this process, so a busy token costs no write per request. */
  private async recordUse(id: string, now: number): Promise<void> {
    const recorded = this.usesRecorded.get(id);
    if (recorded !== undefined && now - recorded < this.lastUsedResolutionMs) return;
    if (this.usesRecorded.size >= maxCacheEntries) this.usesRecorded.clear();
    this.usesRecorded.set(id, now);
    await markApiTokenUsed(this.store, id, now, this.lastUsedResolutionMs);
  }
}
