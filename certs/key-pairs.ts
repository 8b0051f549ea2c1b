/**
 * Key pairs and signature algorithms, all through node:crypto (node-forge knows no EC keys and
 * its pure-JavaScript RSA is ~40x slower).
 */
import { createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { nullValue, oid, sequence, toDer, type Asn1 } from './der.ts';
import { Oid } from './oids.ts';

const generateKeyPairAsync = promisify(generateKeyPair);

export type KeyAlgorithm = 'ec' | 'rsa';

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/**
 * EC P-256 (default) or RSA-2048 for CA, server and signing keys. Runs on the libuv thread pool.
 * Device keys generated on the server never use this with 'rsa': see generateDeviceKeyPair.
 */
export async function generateCaKeyPair(algorithm: KeyAlgorithm): Promise<KeyPair> {
  if (algorithm === 'rsa') return generateKeyPairAsync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
  return generateKeyPairAsync('ec', { namedCurve: 'P-256' });
}

/**
 * Device keys made on the server are always EC P-256, whatever certKeyAlgorithm says:
 * P-256 key generation costs ~0.1 ms, RSA-2048 ~250 ms, and the latter cannot serve a fleet
 * provisioning at once. Devices that need RSA send a CSR with their own RSA key.
 */
export async function generateDeviceKeyPair(): Promise<KeyPair> {
  return generateKeyPairAsync('ec', { namedCurve: 'P-256' });
}

export function privateKeyToPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/**
 * SubjectPublicKeyInfo DER prefixes of EC keys with an uncompressed point: SEQUENCE {
 * AlgorithmIdentifier { id-ecPublicKey, namedCurve }, BIT STRING (0 unused bits) 04 || X || Y }.
 * OpenSSL 3's generic key encoder and decoder cost ~100 us per call, about as much as the rest
 * of issuing a certificate, so P-256 and P-384 keys cross between DER and node:crypto through
 * JWK coordinates instead (~5 us and ~50 us; the JWK import still checks the point is on the curve).
 */
const ecSpkiPrefixes = {
  'P-256': { coordinateLength: 32, prefix: Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex') },
  'P-384': { coordinateLength: 48, prefix: Buffer.from('3076301006072a8648ce3d020106052b81040022036200', 'hex') },
} as const;

/** SubjectPublicKeyInfo DER of a key (of the public half of a private key). */
export function spkiDerOf(key: KeyObject): Buffer {
  if (key.asymmetricKeyType === 'ec') {
    const jwk = key.export({ format: 'jwk' });
    const curve = jwk.crv === 'P-256' || jwk.crv === 'P-384' ? ecSpkiPrefixes[jwk.crv] : undefined;
    const x = Buffer.from(jwk.x ?? '', 'base64url');
    const y = Buffer.from(jwk.y ?? '', 'base64url');
    if (curve && x.length === curve.coordinateLength && y.length === curve.coordinateLength) {
      return Buffer.concat([curve.prefix, Buffer.of(0x04), x, y]);
    }
  }
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return publicKey.export({ type: 'spki', format: 'der' });
}

/**
 * A public key from SubjectPublicKeyInfo DER; throws when node:crypto cannot read it. For EC
 * P-256/P-384 keys in canonical form, the curve is returned too (undefined otherwise; read
 * asymmetricKeyDetails then).
 */
export function publicKeyFromSpki(spki: Buffer): { publicKey: KeyObject; ecCurve?: 'P-256' | 'P-384' } {
  for (const crv of ['P-256', 'P-384'] as const) {
    const { coordinateLength, prefix } = ecSpkiPrefixes[crv];
    if (spki.length === prefix.length + 1 + 2 * coordinateLength && spki[prefix.length] === 0x04 && spki.subarray(0, prefix.length).equals(prefix)) {
      const start = prefix.length + 1;
      const x = spki.subarray(start, start + coordinateLength).toString('base64url');
      const y = spki.subarray(start + coordinateLength).toString('base64url');
      return { publicKey: createPublicKey({ key: { kty: 'EC', crv, x, y }, format: 'jwk' }), ecCurve: crv };
    }
  }
  return { publicKey: createPublicKey({ key: spki, format: 'der', type: 'spki' }) };
}

/** True when the private key belongs to the public key (compared by their SPKI encoding). */
export function keysMatch(privateKey: KeyObject, publicKey: KeyObject): boolean {
  return spkiDerOf(createPublicKey(privateKey)).equals(spkiDerOf(publicKey));
}

export function describeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') return `EC ${details.namedCurve ?? 'unknown curve'}`;
  if (key.asymmetricKeyType === 'rsa') return `RSA-${details.modulusLength ?? '?'}`;
  return key.asymmetricKeyType ?? 'unknown key type';
}

export type HashName = 'sha256' | 'sha384' | 'sha512';

/** How a CA key signs: the hash handed to crypto.sign and the AlgorithmIdentifier to write. */
export interface SignatureAlgorithm {
  readonly hash: HashName;
  readonly oid: string;
  /** AlgorithmIdentifier; the caller must not mutate it (it is shared). */
  readonly identifier: Asn1;
  readonly derIdentifier: Buffer;
}

function algorithm(hash: HashName, algorithmOid: string, withNullParameters: boolean): SignatureAlgorithm {
  const identifier = sequence(withNullParameters ? [oid(algorithmOid), nullValue()] : [oid(algorithmOid)]);
  return { hash, oid: algorithmOid, identifier, derIdentifier: toDer(identifier) };
}

/**
 * The signature algorithm for a signing key: ECDSA with the hash matching the curve
 * (RFC 5480 4), or sha256WithRSAEncryption (PKCS#1 v1.5) with NULL parameters (RFC 4055 5).
 * Returns undefined for key types we do not sign with (Ed25519, RSA-PSS, DSA...).
 */
export function signatureAlgorithmFor(key: KeyObject): SignatureAlgorithm | undefined {
  if (key.asymmetricKeyType === 'rsa') {
    return (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048 ? algorithm('sha256', Oid.sha256WithRsa, true) : undefined;
  }
  if (key.asymmetricKeyType !== 'ec') return undefined;
  switch (key.asymmetricKeyDetails?.namedCurve) {
    case 'prime256v1':
      return algorithm('sha256', Oid.ecdsaWithSha256, false);
    case 'secp384r1':
      return algorithm('sha384', Oid.ecdsaWithSha384, false);
    case 'secp521r1':
      return algorithm('sha512', Oid.ecdsaWithSha512, false);
    default:
      return undefined;
  }
}
