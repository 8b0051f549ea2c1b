import { createHash, timingSafeEqual } from 'node:crypto';
import type { PlatformConfig } from '../config/schema.ts';
import { PlatformError } from '../errors/platform-error.ts';
import { verifySecret } from '../crypto/secret-hash.ts';
import type { ProvisionStore } from '../store/types.ts';
import { adminTokenHashSetting, parseAccountToken, readApiTokenRecord } from './api-tokens.ts';

/** Who is calling: the admin, or a token limited to one account. */
export type Principal =
  | { readonly kind: 'admin'; readonly actor: 'admin' }
  | { readonly kind: 'account'; readonly actor: string; readonly tokenId: string; readonly accountId: string };

export const adminPrincipal: Principal = Object.freeze({ kind: 'admin', actor: 'admin' });

export interface ApiTokenAuthenticatorOptions {
  /** How long a verified token is trusted without checking again (default 60 s). */
  readonly cacheTtlMs?: number;
  readonly now?: () => number;
}

const maxTokenLength = 512;
const maxCacheEntries = 10_000;

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Verifies bearer tokens. Successful verifications are remembered briefly, keyed by the
 * token's sha256, so a busy client does not pay scrypt on every request.
 */
export class ApiTokenAuthenticator {
  private readonly cache = new Map<string, { principal: Principal; expiresAt: number }>();
  private readonly cacheTtlMs: number;
  private readonly now: () => number;
  private readonly configuredAdminDigest: Buffer | null;
  private storedAdminHash: string | null = null;

  constructor(
    private readonly store: ProvisionStore,
    config: Pick<PlatformConfig, 'adminToken'>,
    options: ApiTokenAuthenticatorOptions = {},
  ) {
    this.cacheTtlMs = options.cacheTtlMs ?? 60_000;
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
    const key = digest.toString('base64');
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.principal;
    if (cached) this.cache.delete(key);

    const principal = await this.verifyUncached(token, digest);
    if (principal) {
      if (this.cache.size >= maxCacheEntries) this.cache.clear();
      this.cache.set(key, { principal, expiresAt: this.now() + this.cacheTtlMs });
    }
    return principal;
  }

  /** Forgets cached verifications (e.g. after a token or account is removed). */
  clearCache(): void {
    this.cache.clear();
  }

  private async verifyUncached(token: string, digest: Buffer): Promise<Principal | null> {
    if (this.configuredAdminDigest) {
      if (timingSafeEqual(digest, this.configuredAdminDigest)) return adminPrincipal;
    } else {
      this.storedAdminHash ??= await this.store.getSetting(adminTokenHashSetting);
      if (this.storedAdminHash !== null && !token.includes('.') && (await verifySecret(token, this.storedAdminHash))) {
        return adminPrincipal;
      }
    }
    const parsed = parseAccountToken(token);
    if (!parsed) return null;
    const record = await readApiTokenRecord(this.store, parsed.id);
    if (!record || !(await verifySecret(parsed.secret, record.hash))) return null;
    if (!(await this.store.getAccount(record.accountId))) return null;
    return { kind: 'account', actor: parsed.id, tokenId: parsed.id, accountId: record.accountId };
  }
}
