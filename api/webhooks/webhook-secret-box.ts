/**
 * Webhook signing secrets are needed in clear to sign (HMAC), so they cannot be stored hashed as
 * API tokens are. They are stored sealed instead: AES-256-GCM under a key derived (HKDF-SHA256)
 * from the platform's bundle-token secret, which lives in the secrets file, not in the store
 * (platform/platform-secrets.ts). A copy of the store alone does not give them away.
 *
 *   v1.<key id>.<iv>.<tag>.<ciphertext>   (base64url parts; key id: 8 hex of SHA-256 of the derived key)
 *
 * After a rotation of the bundle-token secret the earlier value still opens what it sealed, and the
 * delivery worker seals such a secret again under the current one (resealed), so dropping the
 * earlier values later loses nothing that was delivered to since.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

interface BoxKey {
  readonly id: string;
  readonly key: Buffer;
}

function boxKey(secret: Buffer): BoxKey {
  const key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'provisio webhook secret v1', 32));
  return { id: createHash('sha256').update(key).digest('hex').slice(0, 8), key };
}

/** What the box is built from: the platform secret ring (PlatformSecrets['bundleToken']). */
export interface SecretRingView {
  readonly current: Buffer;
  readonly previous: readonly Buffer[];
}

export class WebhookSecretBox {
  private readonly current: BoxKey;
  private readonly all: readonly BoxKey[];

  constructor(ring: SecretRingView) {
    this.current = boxKey(ring.current);
    this.all = [this.current, ...ring.previous.map(boxKey)];
  }

  seal(secret: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    const data = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return ['v1', this.current.id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), data.toString('base64url')].join('.');
  }

  /** The secret, and whether it was sealed under an earlier platform secret (so should be sealed again). Throws when no key opens it. */
  open(sealed: string): { readonly secret: string; readonly stale: boolean } {
    const [version, keyId, iv, tag, data] = sealed.split('.');
    const key = this.all.find((candidate) => candidate.id === keyId);
    if (version !== 'v1' || !key || iv === undefined || tag === undefined || data === undefined) {
      throw new Error('the webhook secret was sealed under a platform secret no longer kept; give the webhook a new secret (PATCH rotateSecret)');
    }
    const decipher = createDecipheriv('aes-256-gcm', key.key, Buffer.from(iv, 'base64url'), { authTagLength: 16 });
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    const secret = Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    return { secret, stale: key !== this.current };
  }
}
