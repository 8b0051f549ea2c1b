/**
 * Test and benchmark helper: PKCS#10 certificate signing requests made in pure Node (node-forge's ASN.1
 * module for the structure, node:crypto for the key and the signature), so tests need no
 * openssl. Deliberately independent of certs/, so it can check that code rather than echo it.
 */
import { createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

const { asn1 } = forge;
const UNIVERSAL = asn1.Class.UNIVERSAL;

export interface CreateCsrOptions {
  readonly commonName: string;
  /** Key of the request: EC P-256 (default) or RSA-2048. Ignored when privateKey is given. */
  readonly keyAlgorithm?: 'ec' | 'rsa';
  /** Subject O, when wanted. */
  readonly organization?: string;
  /** Reuse a key (RSA key generation costs ~250 ms). */
  readonly privateKey?: KeyObject;
}

export interface TestCsr {
  readonly csrPem: string;
  /** PKCS#8 PEM of the request's key. */
  readonly keyPem: string;
  readonly privateKey: KeyObject;
}

function node(type: forge.asn1.Type, value: string | forge.asn1.Asn1[]): forge.asn1.Asn1 {
  return asn1.create(UNIVERSAL, type, Array.isArray(value), value);
}

function oid(dotted: string): forge.asn1.Asn1 {
  return node(asn1.Type.OID, asn1.oidToDer(dotted).getBytes());
}

function der(value: forge.asn1.Asn1): Buffer {
  return Buffer.from(asn1.toDer(value).getBytes(), 'binary');
}

function attribute(type: string, value: string): forge.asn1.Asn1 {
  return node(asn1.Type.SET, [node(asn1.Type.SEQUENCE, [oid(type), node(asn1.Type.UTF8, forge.util.encodeUtf8(value))])]);
}

export function createCsr(options: CreateCsrOptions): TestCsr {
  const privateKey =
    options.privateKey ??
    (options.keyAlgorithm === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
      : generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });

  const rdns: forge.asn1.Asn1[] = [];
  if (options.organization !== undefined) rdns.push(attribute('2.5.4.10', options.organization));
  rdns.push(attribute('2.5.4.3', options.commonName));
  const info = node(asn1.Type.SEQUENCE, [
    node(asn1.Type.INTEGER, '\x00'), // version 1
    node(asn1.Type.SEQUENCE, rdns),
    asn1.fromDer(spki.toString('binary')),
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, []), // attributes [0], none
  ]);
  // ECDSA: node:crypto's DER ECDSA-Sig-Value is the BIT STRING content; RSA: PKCS#1 v1.5.
  const signature = sign('sha256', der(info), privateKey);
  const algorithm =
    privateKey.asymmetricKeyType === 'rsa'
      ? node(asn1.Type.SEQUENCE, [oid('1.2.840.113549.1.1.11'), node(asn1.Type.NULL, '')])
      : node(asn1.Type.SEQUENCE, [oid('1.2.840.10045.4.3.2')]);
  const request = der(node(asn1.Type.SEQUENCE, [info, algorithm, node(asn1.Type.BITSTRING, `\x00${signature.toString('binary')}`)]));
  return {
    csrPem: toPem('CERTIFICATE REQUEST', request),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    privateKey,
  };
}

function toPem(label: string, bytes: Buffer): string {
  const lines = bytes.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The same request with one bit of its signature flipped (still well-formed DER). */
export function tamperCsrSignature(csrPem: string): string {
  const base64 = csrPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  const bytes = Buffer.from(base64, 'base64');
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0x01;
  return toPem('CERTIFICATE REQUEST', bytes);
}
