/** X.501 distinguished names: the few attributes we write, and reading them back. */
import { Asn1Type, T61_STRING, VISIBLE_STRING, children, contentBytes, isUniversal, oid, oidOf, sequence, set, utf8String, type Asn1 } from './der.ts';
import { Oid } from './oids.ts';

export interface NameFields {
  readonly commonName: string;
  readonly organization?: string;
}

/** Name ::= SEQUENCE OF RelativeDistinguishedName; O before CN, UTF8String values (RFC 5280 4.1.2.4). */
export function buildName(fields: NameFields): Asn1 {
  const attribute = (type: string, value: string): Asn1 => set([sequence([oid(type), utf8String(value)])]);
  const rdns: Asn1[] = [];
  if (fields.organization !== undefined) rdns.push(attribute(Oid.organizationName, fields.organization));
  rdns.push(attribute(Oid.commonName, fields.commonName));
  return sequence(rdns);
}

/** Decodes the DirectoryString choices; undefined for types we do not read. */
function directoryString(node: Asn1): string | undefined {
  if (typeof node.value !== 'string' || node.tagClass !== 0) return undefined;
  switch (node.type as number) {
    case Asn1Type.UTF8: {
      const bytes = contentBytes(node);
      const text = bytes.toString('utf8');
      return Buffer.from(text, 'utf8').equals(bytes) ? text : undefined;
    }
    case Asn1Type.PRINTABLESTRING:
    case Asn1Type.IA5STRING:
    case T61_STRING:
    case VISIBLE_STRING:
      return contentBytes(node).toString('latin1');
    case Asn1Type.BMPSTRING:
      // node-forge already decodes BMPString (UCS-2) to a JavaScript string.
      return node.value;
    default:
      return undefined;
  }
}

export interface ParsedName {
  /** Values of each attribute type we read, in order; several when the name repeats one. */
  readonly commonNames: readonly string[];
  readonly organizations: readonly string[];
}

/** Reads CN and O from a Name; throws on a malformed structure or an undecodable value. */
export function parseName(name: Asn1 | undefined): ParsedName {
  if (!isUniversal(name, Asn1Type.SEQUENCE)) throw new Error('name is not a SEQUENCE');
  const commonNames: string[] = [];
  const organizations: string[] = [];
  for (const rdn of children(name)) {
    if (!isUniversal(rdn, Asn1Type.SET)) throw new Error('name component is not a SET');
    for (const attribute of children(rdn)) {
      const [typeNode, valueNode] = children(attribute);
      const type = oidOf(typeNode);
      if (type === undefined || valueNode === undefined) throw new Error('malformed name attribute');
      if (type !== Oid.commonName && type !== Oid.organizationName) continue;
      const value = directoryString(valueNode);
      if (value === undefined) throw new Error('name attribute value cannot be decoded');
      (type === Oid.commonName ? commonNames : organizations).push(value);
    }
  }
  return { commonNames, organizations };
}
