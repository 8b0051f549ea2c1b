import { createHmac, hkdfSync } from 'node:crypto';

/**
 * Provisioning codes (docs/PROTOCOL.md §18) are stored only as a keyed hash: HMAC-SHA-256 of the
 * 12 digits under a key derived (HKDF-SHA256) from the platform's device-key secret. A copy of the
 * store alone cannot be searched for codes (10^12 of them would take seconds unkeyed), and the
 * lookup at CONNECT is one hash and one indexed read, not a KDF per stored code.
 *
 * Every process of a cluster reads the same secrets file (platform/platform-secrets.ts), so the
 * API that makes a code and the broker that checks it derive the same key. After a rotation of
 * the device-key secret, codes made under an earlier value are still found through that value's
 * key for as long as the secrets file keeps it (`ProvisioningCodeKeys.all`).
 */

/** A platform secret ring as platform/platform-secrets.ts holds it (PlatformSecrets['deviceKey']). */
export interface CodeSecretRing {
  readonly current: Buffer;
  readonly previous: readonly Buffer[];
}

/** The code hash keys: `current` makes new codes; `all` (current first) is what a code is looked up under. */
export interface ProvisioningCodeKeys {
  readonly current: Buffer;
  readonly all: readonly Buffer[];
}

const info = 'provisio provisioning code v1';

function codeKey(secret: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), info, 32));
}

/** The code hash keys derived from the device-key secret ring (PlatformSecrets['deviceKey']). */
export function provisioningCodeKeys(ring: CodeSecretRing): ProvisioningCodeKeys {
  const current = codeKey(ring.current);
  return { current, all: [current, ...ring.previous.map(codeKey)] };
}

/**
 * The stored form of a code: lower-case hex HMAC-SHA-256 of its digits (normalized first:
 * protocol/enrollment.ts normalizeProvisioningCode) under one of the code keys.
 */
export function provisioningCodeHash(key: Buffer, digits: string): string {
  return createHmac('sha256', key).update(digits, 'utf8').digest('hex');
}
