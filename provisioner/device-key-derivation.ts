import { createECDH, createHmac, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

// Order of the P-256 group: a derived scalar must be in [1, n-1].
const p256Order = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

/**
 * EC P-256 keys for devices that cannot make their own, derived from a platform secret and the
 * provisioning attempt (HMAC-SHA256). A device that lost the reply and asks again with the same
 * request.id gets the same key and the same certificate, and no private key is ever stored.
 * The secret lives in the platform secrets file, never in the store (platform/platform-secrets.ts).
 */
export function deriveDeviceKey(secret: Buffer, provisionRequestId: string, requestId: string): KeyObject {
  for (let counter = 0; ; counter += 1) {
    const scalar = createHmac('sha256', secret).update(`${provisionRequestId}\u0000${requestId}\u0000${counter}`).digest();
    const value = BigInt(`0x${scalar.toString('hex')}`);
    if (value === 0n || value >= p256Order) continue;
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(scalar);
    const point = ecdh.getPublicKey(); // 0x04 || x || y
    return createPrivateKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        d: scalar.toString('base64url'),
        x: point.subarray(1, 33).toString('base64url'),
        y: point.subarray(33, 65).toString('base64url'),
      },
      format: 'jwk',
    });
  }
}

/**
 * The key an earlier answer to this attempt certified: derived with the current secret or, after
 * a rotation, with an earlier one (newest first), whichever gives the certificate's public key.
 * Undefined when none does (the certificate was issued for a CSR's key).
 */
export function deriveIssuedDeviceKey(
  secrets: readonly Buffer[],
  provisionRequestId: string,
  requestId: string,
  certificateSpki: Buffer,
): KeyObject | undefined {
  for (const secret of secrets) {
    const key = deriveDeviceKey(secret, provisionRequestId, requestId);
    if (createPublicKey(key).export({ type: 'spki', format: 'der' }).equals(certificateSpki)) return key;
  }
  return undefined;
}
