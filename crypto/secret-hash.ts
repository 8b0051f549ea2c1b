import { createHmac, randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Salted hashes for passwords, activation keys and API tokens; docs/SECURITY.md explains the choice.
 * - A secret a person chose ('chosen'): scrypt N=512, r=8, p=1, about 0.7 ms and 512 KiB here,
 *   cheap enough for the broker to verify one per connecting device, and run on libuv's thread
 *   pool, off the event loop. Format: scrypt$N$r$p$salt$hash (base64url).
 * - A secret this platform generated ('generated', 190 random bits from generateSecret): guessing
 *   it is out of reach however fast the hash, so a salted HMAC-SHA256 (a few microseconds) is as
 *   safe as a KDF and keeps bulk creation and connects fast. Format: hmac-sha256$salt$hash.
 */
export type SecretOrigin = 'chosen' | 'generated';
const defaultParameters = { N: 512, r: 8, p: 1 } as const;
const keyLength = 32;

function scrypt(secret: string, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(secret, salt, length, options, (error, derived) => (error ? reject(error) : resolve(derived)));
  });
}

function hmacSha256(secret: string, salt: Buffer): Buffer {
  return createHmac('sha256', salt).update(secret, 'utf8').digest();
}

export async function hashSecret(secret: string, origin: SecretOrigin = 'chosen'): Promise<string> {
  const salt = randomBytes(16);
  if (origin === 'generated') return `hmac-sha256$${salt.toString('base64url')}$${hmacSha256(secret, salt).toString('base64url')}`;
  const { N, r, p } = defaultParameters;
  const derived = await scrypt(secret, salt, keyLength, { N, r, p });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64url')}$${derived.toString('base64url')}`;
}

/** Constant-time comparison; a malformed stored hash never matches. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length === 3 && parts[0] === 'hmac-sha256') {
    const expected = Buffer.from(parts[2] ?? '', 'base64url');
    const derived = hmacSha256(secret, Buffer.from(parts[1] ?? '', 'base64url'));
    return expected.length === derived.length && timingSafeEqual(derived, expected);
  }
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![N, r, p].every((value) => Number.isInteger(value) && value > 0) || N > 1 << 16) return false;
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const expected = Buffer.from(parts[5] ?? '', 'base64url');
  if (expected.length !== keyLength) return false;
  const derived = await scrypt(secret, salt, keyLength, { N, r, p, maxmem: 64 * 1024 * 1024 });
  return timingSafeEqual(derived, expected);
}

/** Machine-generated secrets: 32 characters from a 62-letter alphabet (about 190 bits). */
export function generateSecret(length = 32): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 = 4 * 62: reject the tail so every letter is equally likely.
      if (byte < 248 && out.length < length) out += alphabet[byte % 62];
    }
  }
  return out;
}
