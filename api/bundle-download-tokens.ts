import { createHmac, timingSafeEqual } from 'node:crypto';
import { PlatformError } from '../errors/platform-error.ts';

/**
 * The HMAC keys: the current one signs, earlier ones (kept for a while after a rotation) still
 * verify. They come from the platform secrets file (platform/platform-secrets.ts), never the store.
 */
export interface BundleTokenKeys {
  readonly current: Buffer;
  readonly previous?: readonly Buffer[];
}

export interface BundleTokenClaims {
  readonly clientId: string;
  /** Epoch ms. */
  readonly expiresAt: number;
}

/**
 * Short-lived download links for devices: `{expiry}.{clientId}.{mac}`, all base64url/decimal,
 * the MAC being HMAC-SHA256 over bundle id, clientId and expiry. A token opens one bundle only.
 */
export class BundleDownloadTokens {
  private readonly secret: Buffer;
  private readonly verifyingSecrets: readonly Buffer[];
  private readonly now: () => number;

  constructor(keys: Buffer | BundleTokenKeys, now: () => number = Date.now) {
    const { current, previous = [] } = Buffer.isBuffer(keys) ? { current: keys } : keys;
    if ([current, ...previous].some((secret) => secret.length < 32)) throw new Error('a bundle token secret needs at least 32 bytes');
    this.secret = current;
    this.verifyingSecrets = [current, ...previous];
    this.now = now;
  }

  create(input: { bundleId: string; clientId: string; ttlSeconds: number }): string {
    const expiresAtSeconds = Math.floor(this.now() / 1000) + Math.max(1, Math.floor(input.ttlSeconds));
    const clientPart = Buffer.from(input.clientId, 'utf8').toString('base64url');
    return `${expiresAtSeconds}.${clientPart}.${this.mac(input.bundleId, input.clientId, expiresAtSeconds).toString('base64url')}`;
  }

  /** The claims of a valid, unexpired token for this bundle; otherwise BUNDLE_TOKEN_INVALID. */
  verify(token: string, bundleId: string): BundleTokenClaims {
    const match = /^(\d{1,12})\.([A-Za-z0-9_-]{0,700})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!match) throw new PlatformError('BUNDLE_TOKEN_INVALID');
    const expiresAtSeconds = Number(match[1]);
    const clientId = Buffer.from(match[2]!, 'base64url').toString('utf8');
    const given = Buffer.from(match[3]!, 'base64url');
    const genuine = this.verifyingSecrets.some((secret) => {
      const expected = this.mac(bundleId, clientId, expiresAtSeconds, secret);
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
    if (!genuine) throw new PlatformError('BUNDLE_TOKEN_INVALID');
    if (expiresAtSeconds * 1000 <= this.now()) throw new PlatformError('BUNDLE_TOKEN_INVALID', { detail: 'the token has expired' });
    return { clientId, expiresAt: expiresAtSeconds * 1000 };
  }

  private mac(bundleId: string, clientId: string, expiresAtSeconds: number, secret = this.secret): Buffer {
    return createHmac('sha256', secret).update(`provisio-bundle-download\n${bundleId}\n${clientId}\n${expiresAtSeconds}`).digest();
  }
}

/** The device download URL: {baseUrl}/api/v1/bundles/{id}/download?token=… */
export function bundleDownloadUrl(baseUrl: string, bundleId: string, token: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/api/v1/bundles/${encodeURIComponent(bundleId)}/download?token=${encodeURIComponent(token)}`;
}
