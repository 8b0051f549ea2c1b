/** Reads the fields of an X.509 certificate that node:crypto's X509Certificate does not expose as data. */
import { Asn1Type, children, contentBytes, fromDer, isContext, isUniversal, oidOf, timeOf, type Asn1 } from './der.ts';
import { parseName, type ParsedName } from './names.ts';
import { Oid } from './oids.ts';

export interface ExtensionValue {
  readonly critical: boolean;
  /** DER of the extension value (the content of extnValue). */
  readonly value: Buffer;
}

export interface CertificateFields {
  /** Lower-case hex, no sign padding. */
  readonly serialHex: string;
  /** The subject Name as parsed ASN.1, to be reused as the issuer of certificates it signs. */
  readonly subjectName: Asn1;
  readonly subject: ParsedName;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly subjectPublicKeyInfo: Asn1;
  readonly extensions: ReadonlyMap<string, ExtensionValue>;
}

/** Parses a certificate's DER; throws on anything malformed. */
export function readCertificate(der: Buffer): CertificateFields {
  const tbs = children(fromDer(der))[0];
  if (!isUniversal(tbs, Asn1Type.SEQUENCE)) throw new Error('not a certificate');
  const fields = children(tbs);
  const offset = isContext(fields[0], 0) ? 1 : 0; // [0] version is optional (v1)
  const [serialNode, , , validityNode, subjectName, spki, ...rest] = fields.slice(offset);
  if (!isUniversal(serialNode, Asn1Type.INTEGER) || !subjectName || !spki) throw new Error('not a certificate');
  const serial = contentBytes(serialNode);
  const [notBeforeNode, notAfterNode] = children(validityNode);
  const notBefore = timeOf(notBeforeNode);
  const notAfter = timeOf(notAfterNode);
  if (notBefore === undefined || notAfter === undefined) throw new Error('certificate validity unreadable');

  const extensions = new Map<string, ExtensionValue>();
  for (const extension of children(children(rest.find((node) => isContext(node, 3)))[0])) {
    const [idNode, second, third] = children(extension);
    const id = oidOf(idNode);
    const hasCriticalFlag = isUniversal(second, Asn1Type.BOOLEAN);
    const critical = hasCriticalFlag && contentBytes(second)[0] !== 0;
    const valueNode = hasCriticalFlag ? third : second;
    if (id === undefined || !isUniversal(valueNode, Asn1Type.OCTETSTRING)) throw new Error('malformed extension');
    extensions.set(id, { critical, value: contentBytes(valueNode) });
  }

  return {
    serialHex: (serial[0] === 0 && serial.length > 1 ? serial.subarray(1) : serial).toString('hex'),
    subjectName,
    subject: parseName(subjectName),
    notBefore,
    notAfter,
    subjectPublicKeyInfo: spki,
    extensions,
  };
}

export function subjectKeyIdentifierOf(fields: CertificateFields): Buffer | undefined {
  const extension = fields.extensions.get(Oid.subjectKeyIdentifier);
  if (!extension) return undefined;
  const node = fromDer(extension.value);
  return isUniversal(node, Asn1Type.OCTETSTRING) ? contentBytes(node) : undefined;
}

/** The keyIdentifier of the AuthorityKeyIdentifier extension (SEQUENCE { [0] IMPLICIT OCTET STRING, ... }), if any. */
export function authorityKeyIdentifierOf(fields: CertificateFields): Buffer | undefined {
  const extension = fields.extensions.get(Oid.authorityKeyIdentifier);
  if (!extension) return undefined;
  const keyIdentifier = children(fromDer(extension.value)).find((node) => isContext(node, 0));
  return keyIdentifier ? contentBytes(keyIdentifier) : undefined;
}

export function extendedKeyUsagesOf(fields: CertificateFields): string[] {
  const extension = fields.extensions.get(Oid.extKeyUsage);
  if (!extension) return [];
  return children(fromDer(extension.value))
    .map((node) => oidOf(node))
    .filter((id): id is string => id !== undefined);
}

export function isCaCertificate(fields: CertificateFields): boolean {
  const extension = fields.extensions.get(Oid.basicConstraints);
  if (!extension) return false;
  const [first] = children(fromDer(extension.value));
  return isUniversal(first, Asn1Type.BOOLEAN) && contentBytes(first)[0] !== 0;
}
