import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { PlatformError } from '../errors/platform-error.ts';
import type { ProvisionStore } from '../store/types.ts';

/** Store setting holding the HMAC key, shared by every process on the same store. */
export const bundleTokenSecretSetting = 'bundle-token-secret';

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
  private readonly now: () => number;

  constructor(secret: Buffer, now: () => number = Date.now) {
    if (secret.length < 32) throw new Error('the bundle token secret needs at least 32 bytes');
    this.secret = secret;
    this.now = now;
  }

  /** Loads the shared secret from the store, creating it on first use. */
  static async open(store: ProvisionStore, now?: () => number): Promise<BundleDownloadTokens> {
    const stored = await store.setSettingIfAbsent(bundleTokenSecretSetting, randomBytes(32).toString('base64url'));
    return new BundleDownloadTokens(Buffer.from(stored, 'base64url'), now);
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
    const expected = this.mac(bundleId, clientId, expiresAtSeconds);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new PlatformError('BUNDLE_TOKEN_INVALID');
    if (expiresAtSeconds * 1000 <= this.now()) throw new PlatformError('BUNDLE_TOKEN_INVALID', { detail: 'the token has expired' });
    return { clientId, expiresAt: expiresAtSeconds * 1000 };
  }

  private mac(bundleId: string, clientId: string, expiresAtSeconds: number): Buffer {
    return createHmac('sha256', this.secret)
      .update(`provisio-bundle-download\n${bundleId}\n${clientId}\n${expiresAtSeconds}`)
      .digest();
  }
}

/** The device download URL: {baseUrl}/api/v1/bundles/{id}/download?token=… */
export function bundleDownloadUrl(baseUrl: string, bundleId: string, token: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/api/v1/bundles/${encodeURIComponent(bundleId)}/download?token=${encodeURIComponent(token)}`;
}
