import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Salted, memory-hard hashes for passwords, activation keys and API tokens.
 * scrypt N=512, r=8, p=1 costs about 0.7 ms and 512 KiB here: cheap enough for the broker to verify
 * one per connecting device (docs/SECURITY.md explains the choice), and it runs on libuv's thread
 * pool, off the event loop. Format: scrypt$N$r$p$salt(base64url)$hash(base64url).
 */
const defaultParameters = { N: 512, r: 8, p: 1 } as const;
const keyLength = 32;

function scrypt(secret: string, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(secret, salt, length, options, (error, derived) => (error ? reject(error) : resolve(derived)));
  });
}

export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const { N, r, p } = defaultParameters;
  const derived = await scrypt(secret, salt, keyLength, { N, r, p });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64url')}$${derived.toString('base64url')}`;
}

/** Constant-time comparison; a malformed stored hash never matches. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
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
