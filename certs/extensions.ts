/** X.509 v3 extensions (RFC 5280 4.2) the CA writes, and key identifiers. */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import {
  bitString,
  bitStringBytes,
  boolean,
  children,
  explicit,
  fromDer,
  implicitPrimitive,
  octetString,
  oid,
  sequence,
  smallInteger,
  toDer,
  type Asn1,
} from './der.ts';
import { Oid } from './oids.ts';

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
export function extension(extensionOid: string, critical: boolean, value: Asn1): Asn1 {
  const parts = [oid(extensionOid)];
  if (critical) parts.push(boolean(true));
  parts.push(octetString(toDer(value)));
  return sequence(parts);
}

export function basicConstraints(options: { ca: boolean; pathLength?: number }): Asn1 {
  const fields: Asn1[] = [];
  if (options.ca) {
    fields.push(boolean(true));
    if (options.pathLength !== undefined) fields.push(smallInteger(options.pathLength));
  }
  // Critical on CA certificates (RFC 5280 4.2.1.9); also marked critical on leaves, as OpenSSL does.
  return extension(Oid.basicConstraints, true, sequence(fields));
}

export type KeyUsageBit = 'digitalSignature' | 'keyEncipherment' | 'keyCertSign' | 'cRLSign';
const keyUsagePositions: Record<KeyUsageBit, number> = {
  digitalSignature: 0,
  keyEncipherment: 2,
  keyCertSign: 5,
  cRLSign: 6,
};

/** KeyUsage BIT STRING, DER form: trailing zero bits dropped and counted as unused. */
export function keyUsage(bits: readonly KeyUsageBit[]): Asn1 {
  let byte = 0;
  for (const bit of bits) byte |= 0x80 >> keyUsagePositions[bit];
  let unused = 0;
  while (unused < 8 && (byte & (1 << unused)) === 0) unused++;
  return extension(Oid.keyUsage, true, bitString(Buffer.of(byte), unused));
}

export function extendedKeyUsage(purposes: readonly string[]): Asn1 {
  return extension(Oid.extKeyUsage, false, sequence(purposes.map((purpose) => oid(purpose))));
}

/**
 * Key identifier, RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING
 * contents. Not a security function; OpenSSL computes the same value.
 */
export function keyIdentifierOf(spki: Asn1 | Buffer): Buffer {
  const node = Buffer.isBuffer(spki) ? fromDer(spki) : spki;
  const publicKeyBits = bitStringBytes(children(node)[1]);
  if (!publicKeyBits) throw new Error('SubjectPublicKeyInfo without a public key');
  return createHash('sha1').update(publicKeyBits).digest();
}

export function subjectKeyIdentifier(keyId: Buffer): Asn1 {
  return extension(Oid.subjectKeyIdentifier, false, octetString(keyId));
}

/** AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING } */
export function authorityKeyIdentifier(issuerKeyId: Buffer): Asn1 {
  return extension(Oid.authorityKeyIdentifier, false, sequence([implicitPrimitive(0, issuerKeyId)]));
}

/** IPv4 or IPv6 text to its 4 or 16 bytes (for iPAddress SANs). */
export function ipAddressBytes(address: string): Buffer {
  const version = isIP(address);
  if (version === 4) return Buffer.from(address.split('.').map(Number));
  if (version !== 6) throw new Error(`not an IP address: ${address}`);
  let text = address;
  const embeddedV4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (embeddedV4) {
    const [a = 0, b = 0, c = 0, d = 0] = embeddedV4.slice(1).map(Number);
    text = `${text.slice(0, embeddedV4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const [head = '', tail] = text.split('::');
  const headGroups = parse(head);
  const tailGroups = tail === undefined ? [] : parse(tail);
  const zeros = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...new Array<number>(zeros).fill(0), ...tailGroups];
  const bytes = Buffer.alloc(16);
  groups.slice(0, 8).forEach((group, index) => bytes.writeUInt16BE(group, index * 2));
  return bytes;
}

/** GeneralNames with dNSName [2] and iPAddress [7] entries, in the given order. */
export function subjectAltNameValue(names: readonly string[]): Asn1 {
  return sequence(names.map((name) => (isIP(name) ? implicitPrimitive(7, ipAddressBytes(name)) : implicitPrimitive(2, Buffer.from(name, 'ascii')))));
}

export function subjectAltName(names: readonly string[]): Asn1 {
  return extension(Oid.subjectAltName, false, subjectAltNameValue(names));
}

/** cRLNumber ::= INTEGER (0..MAX) (RFC 5280 5.2.3). */
export function crlNumber(value: Asn1): Asn1 {
  return extension(Oid.crlNumber, false, value);
}

/**
 * cRLDistributionPoints (RFC 5280 4.2.1.13) with one distribution point, named by one URI:
 * SEQUENCE { DistributionPoint { distributionPoint [0] { fullName [0] { uniformResourceIdentifier [6] } } } }.
 * DistributionPointName is a CHOICE, so its [0] is explicit; fullName's [0] replaces the SEQUENCE
 * tag of GeneralNames, which with one name is the same bytes as an explicit wrapper.
 */
export function crlDistributionPoints(uri: string): Asn1 {
  if (!/^https?:\/\/[\x21-\x7e]+$/.test(uri)) throw new Error(`not an HTTP URL for a CRL distribution point: ${JSON.stringify(uri)}`);
  return extension(Oid.crlDistributionPoints, false, sequence([sequence([explicit(0, explicit(0, implicitPrimitive(6, Buffer.from(uri, 'ascii'))))])]));
}
