/**
 * Thin helpers over node-forge's ASN.1 module: node-forge builds and parses the DER structures
 * (it knows X.509 well), node:crypto does every key operation (node-forge knows no EC keys and
 * signs RSA in slow pure JavaScript). Values cross between the two as Buffers.
 */
import forge from 'node-forge';

const { asn1 } = forge;
export type Asn1 = forge.asn1.Asn1;

const UNIVERSAL = asn1.Class.UNIVERSAL;
const CONTEXT = asn1.Class.CONTEXT_SPECIFIC;
export const Asn1Type = asn1.Type;

/** String types node-forge's enum does not name. */
export const T61_STRING = 20;
export const VISIBLE_STRING = 26;

export function sequence(items: readonly Asn1[]): Asn1 {
  return asn1.create(UNIVERSAL, asn1.Type.SEQUENCE, true, [...items]);
}

export function set(items: readonly Asn1[]): Asn1 {
  return asn1.create(UNIVERSAL, asn1.Type.SET, true, [...items]);
}

/**
 * OBJECT IDENTIFIER contents (X.690 8.19): arcs in base 128, the first two joined as 40·X + Y.
 * Written with BigInt because node-forge's encoder stops at 32-bit arcs, and UUID OIDs under
 * 2.25 (our message-signing purpose) have a 128-bit one.
 */
export function encodeOid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((arc) => BigInt(arc));
  const [first, second, ...rest] = arcs;
  if (first === undefined || second === undefined || first > 2n || (first < 2n && second > 39n)) throw new Error(`not an OID: ${dotted}`);
  const bytes: number[] = [];
  for (const arc of [first * 40n + second, ...rest]) {
    const groups: number[] = [Number(arc & 0x7fn)];
    for (let value = arc >> 7n; value > 0n; value >>= 7n) groups.unshift(Number(value & 0x7fn) | 0x80);
    bytes.push(...groups);
  }
  return Buffer.from(bytes);
}

/** The dotted form of OBJECT IDENTIFIER contents; undefined when they are malformed. */
export function decodeOid(contents: Buffer): string | undefined {
  const arcs: bigint[] = [];
  let value = 0n;
  for (let i = 0; i < contents.length; i += 1) {
    const byte = contents[i]!;
    if (value === 0n && byte === 0x80) return undefined; // a leading 0x80 is not minimal (X.690 8.19.2)
    value = (value << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
    } else if (i === contents.length - 1) {
      return undefined; // the last arc never ended
    }
  }
  const [joined, ...rest] = arcs;
  if (joined === undefined) return undefined;
  const first = joined < 80n ? joined / 40n : 2n;
  return [first, joined - first * 40n, ...rest].join('.');
}

export function oid(dotted: string): Asn1 {
  return asn1.create(UNIVERSAL, asn1.Type.OID, false, encodeOid(dotted).toString('binary'));
}

export function nullValue(): Asn1 {
  return asn1.create(UNIVERSAL, asn1.Type.NULL, false, '');
}

export function boolean(value: boolean): Asn1 {
  return asn1.create(UNIVERSAL, asn1.Type.BOOLEAN, false, value ? '\xff' : '\x00');
}

export function utf8String(text: string): Asn1 {
  return asn1.create(UNIVERSAL, asn1.Type.UTF8, false, Buffer.from(text, 'utf8').toString('binary'));
}

export function octetString(bytes: Buffer): Asn1 {
  return asn1.create(UNIVERSAL, asn1.Type.OCTETSTRING, false, bytes.toString('binary'));
}

/** BIT STRING; `unusedBits` trailing bits of the last byte are padding (0 for signatures and keys). */
export function bitString(bytes: Buffer, unusedBits = 0): Asn1 {
  return asn1.create(UNIVERSAL, asn1.Type.BITSTRING, false, String.fromCharCode(unusedBits) + bytes.toString('binary'));
}

/** INTEGER from unsigned big-endian bytes; adds the 0x00 a set high bit needs. */
export function unsignedInteger(bytes: Buffer): Asn1 {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  const value = (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.of(0), trimmed]) : trimmed;
  return asn1.create(UNIVERSAL, asn1.Type.INTEGER, false, (value.length ? value : Buffer.of(0)).toString('binary'));
}

export function smallInteger(value: number): Asn1 {
  return asn1.create(UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(value).getBytes());
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds. */
export function time(epochMs: number): Asn1 {
  const date = new Date(epochMs);
  const year = date.getUTCFullYear();
  if (year >= 1950 && year < 2050) {
    return asn1.create(UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(date));
  }
  return asn1.create(UNIVERSAL, asn1.Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date));
}

/** [n] EXPLICIT wrapper. */
export function explicit(tag: number, inner: Asn1): Asn1 {
  return asn1.create(CONTEXT, tag, true, [inner]);
}

/** [n] IMPLICIT primitive value (raw content bytes). */
export function implicitPrimitive(tag: number, content: Buffer): Asn1 {
  return asn1.create(CONTEXT, tag, false, content.toString('binary'));
}

export function toDer(value: Asn1): Buffer {
  return Buffer.from(asn1.toDer(value).getBytes(), 'binary');
}

/**
 * Strict DER parse. BIT STRINGs are kept as raw bytes (node-forge otherwise guesses whether
 * their content is nested ASN.1, which is both slow and wrong for signatures).
 */
export function fromDer(bytes: Buffer): Asn1 {
  const options = { strict: true, parseAllBytes: true, decodeBitStrings: false };
  // @types/node-forge only declares the boolean form of the second argument.
  return (asn1.fromDer as unknown as (input: string, options: object) => Asn1)(bytes.toString('binary'), options);
}

/** An already encoded DER element as an ASN.1 node, to embed it in a structure being built. */
export function embed(der: Buffer): Asn1 {
  return fromDer(der);
}

export function children(node: Asn1 | undefined): Asn1[] {
  return node && Array.isArray(node.value) ? node.value : [];
}

/** A universal-class node of `type`, constructed exactly when the type requires it (DER). */
export function isUniversal(node: Asn1 | undefined, type: number): node is Asn1 {
  if (node === undefined || node.tagClass !== UNIVERSAL || node.type !== type) return false;
  const mustBeConstructed = type === asn1.Type.SEQUENCE || type === asn1.Type.SET;
  return node.constructed === mustBeConstructed;
}

export function isContext(node: Asn1 | undefined, tag: number): node is Asn1 {
  return node !== undefined && node.tagClass === CONTEXT && node.type === tag;
}

/** The raw content bytes of a primitive node. */
export function contentBytes(node: Asn1): Buffer {
  if (typeof node.value !== 'string') throw new Error('expected a primitive ASN.1 value');
  return Buffer.from(node.value, 'binary');
}

export function oidOf(node: Asn1 | undefined): string | undefined {
  if (!isUniversal(node, asn1.Type.OID) || typeof node.value !== 'string') return undefined;
  return decodeOid(Buffer.from(node.value, 'binary'));
}

/** BIT STRING content without its unused-bits octet; only whole-byte strings are accepted. */
export function bitStringBytes(node: Asn1 | undefined): Buffer | undefined {
  if (!isUniversal(node, asn1.Type.BITSTRING) || typeof node.value !== 'string') return undefined;
  const raw = Buffer.from(node.value, 'binary');
  if (raw.length < 1 || raw[0] !== 0) return undefined;
  return raw.subarray(1);
}

/** Epoch ms of a UTCTime or GeneralizedTime node. */
export function timeOf(node: Asn1 | undefined): number | undefined {
  if (node === undefined || node.tagClass !== UNIVERSAL || typeof node.value !== 'string') return undefined;
  if (node.type === asn1.Type.UTCTIME) return asn1.utcTimeToDate(node.value).getTime();
  if (node.type === asn1.Type.GENERALIZEDTIME) return asn1.generalizedTimeToDate(node.value).getTime();
  return undefined;
}

export interface Tlv {
  /** Offset of the tag byte. */
  readonly start: number;
  /** Offset of the first content byte. */
  readonly contentStart: number;
  /** Offset just past the element. */
  readonly end: number;
}

/**
 * Locates one DER element without decoding it; used to take the exact signed bytes
 * (certificationRequestInfo) out of a request. Throws on truncated or indefinite lengths.
 */
export function readTlv(bytes: Buffer, offset: number): Tlv {
  if (offset + 2 > bytes.length) throw new Error('truncated DER');
  const first = bytes[offset + 1] as number;
  let length = first;
  let contentStart = offset + 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4 || contentStart + count > bytes.length) throw new Error('bad DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[contentStart + i] as number);
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > bytes.length) throw new Error('truncated DER');
  return { start: offset, contentStart, end };
}

/** SEQUENCE around already encoded elements, without decoding them again. */
export function sequenceOfDer(parts: readonly Buffer[]): Buffer {
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  let header: Buffer;
  if (length < 0x80) header = Buffer.of(0x30, length);
  else if (length < 0x100) header = Buffer.of(0x30, 0x81, length);
  else if (length < 0x10000) header = Buffer.of(0x30, 0x82, length >> 8, length & 0xff);
  else header = Buffer.of(0x30, 0x83, length >> 16, (length >> 8) & 0xff, length & 0xff);
  return Buffer.concat([header, ...parts], header.length + length);
}
