import { createPublicKey, sign, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

/**
 * PKCS#10 certificate signing requests (RFC 2986) for a device's own key, EC or RSA. node-forge
 * builds the ASN.1 (it cannot sign with EC keys), node:crypto signs: for ECDSA its DER
 * ECDSA-Sig-Value is exactly the BIT STRING content; for RSA it is PKCS#1 v1.5.
 */
const { asn1 } = forge;

function node(type: forge.asn1.Type, value: string | forge.asn1.Asn1[]): forge.asn1.Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, type, Array.isArray(value), value);
}

function oid(dotted: string): forge.asn1.Asn1 {
  return node(asn1.Type.OID, asn1.oidToDer(dotted).getBytes());
}

function toDer(value: forge.asn1.Asn1): Buffer {
  return Buffer.from(asn1.toDer(value).getBytes(), 'binary');
}

function nameAttribute(type: string, value: string): forge.asn1.Asn1 {
  return node(asn1.Type.SET, [node(asn1.Type.SEQUENCE, [oid(type), node(asn1.Type.UTF8, forge.util.encodeUtf8(value))])]);
}

function toPem(label: string, bytes: Buffer): string {
  const lines = bytes.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export interface CsrSubject {
  readonly commonName: string;
  readonly organization?: string;
}

/** A PEM "CERTIFICATE REQUEST" for privateKey's public key, subject CN (and O when given). */
export function createCertificateSigningRequest(subject: string | CsrSubject, privateKey: KeyObject): string {
  const { commonName, organization } = typeof subject === 'string' ? { commonName: subject, organization: undefined } : subject;
  const rdns: forge.asn1.Asn1[] = [];
  if (organization !== undefined) rdns.push(nameAttribute('2.5.4.10', organization));
  rdns.push(nameAttribute('2.5.4.3', commonName));
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const info = node(asn1.Type.SEQUENCE, [
    node(asn1.Type.INTEGER, '\x00'), // version 1
    node(asn1.Type.SEQUENCE, rdns),
    asn1.fromDer(spki.toString('binary')),
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, []), // no attributes
  ]);
  const signature = sign('sha256', toDer(info), privateKey);
  const algorithm =
    privateKey.asymmetricKeyType === 'rsa'
      ? node(asn1.Type.SEQUENCE, [oid('1.2.840.113549.1.1.11'), node(asn1.Type.NULL, '')]) // sha256WithRSAEncryption
      : node(asn1.Type.SEQUENCE, [oid('1.2.840.10045.4.3.2')]); // ecdsa-with-SHA256
  const request = node(asn1.Type.SEQUENCE, [info, algorithm, node(asn1.Type.BITSTRING, `\x00${signature.toString('binary')}`)]);
  return toPem('CERTIFICATE REQUEST', toDer(request));
}
