import { X509Certificate } from 'node:crypto';
import { readCertificate } from './certificate-reader.ts';

/** What a factory certificate is checked against: a registered manufacturer CA (store/enrollment-types.ts). */
export interface FactoryTrustAnchor {
  readonly id: string;
  readonly pem: string;
  readonly enabled: boolean;
}

/** A factory certificate that a registered, enabled manufacturer CA signed, valid now. */
export interface FactoryIdentity {
  readonly manufacturerCaId: string;
  /** Lower-case hex, no sign padding: the form blocks and allow/deny lists hold. */
  readonly serial: string;
  /** The certificate's one subject CN: the clientId the device must connect with. */
  readonly clientId: string;
  readonly notAfter: number;
}

export type FactoryCertificateVerdict = { readonly ok: true; readonly identity: FactoryIdentity } | { readonly ok: false; readonly reason: string };

/** Parsed anchors are kept by PEM: the CA list is read often and changes rarely. */
const parsedAnchors = new Map<string, X509Certificate | null>();

function parsedAnchor(pem: string): X509Certificate | null {
  let parsed = parsedAnchors.get(pem);
  if (parsed === undefined) {
    try {
      parsed = new X509Certificate(pem);
    } catch {
      parsed = null;
    }
    if (parsedAnchors.size > 1000) parsedAnchors.clear();
    parsedAnchors.set(pem, parsed);
  }
  return parsed;
}

/**
 * Checks a client certificate the TLS handshake received (possession of its key is proved by the
 * handshake itself) against the registered manufacturer CAs: issued by one of them (issuer name and
 * signature, the factory certificate signed directly by the registered CA), that CA enabled, the
 * certificate inside its validity, and carrying exactly one subject CN that is the clientId.
 * Revocation of single factory certificates is the block list's business, not this check's.
 */
export function verifyFactoryCertificate(peer: X509Certificate, anchors: readonly FactoryTrustAnchor[], now: number): FactoryCertificateVerdict {
  const issuer = anchors.find((anchor) => {
    const ca = parsedAnchor(anchor.pem);
    return ca !== null && peer.checkIssued(ca) && peer.verify(ca.publicKey);
  });
  if (!issuer) return { ok: false, reason: 'not signed by a registered manufacturer CA' };
  if (!issuer.enabled) return { ok: false, reason: 'its manufacturer CA is disabled' };
  let fields;
  try {
    fields = readCertificate(peer.raw);
  } catch {
    return { ok: false, reason: 'certificate unreadable' };
  }
  if (now < fields.notBefore || now > fields.notAfter) return { ok: false, reason: 'outside its validity' };
  const [clientId, ...more] = fields.subject.commonNames;
  if (clientId === undefined || more.length > 0) return { ok: false, reason: 'the subject must hold exactly one CN' };
  return { ok: true, identity: { manufacturerCaId: issuer.id, serial: fields.serialHex, clientId, notAfter: fields.notAfter } };
}
