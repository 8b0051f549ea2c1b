import { createHash, X509Certificate } from 'node:crypto';
import { ChainVerifier } from './chain-verifier.ts';
import type { NextRootTrust } from './schemas.ts';

export type { NextRootTrust } from './schemas.ts';

/**
 * Lower-case hex SHA-256 of a certificate's DER: how the birth metric `trust.roots` names a root
 * (PROTOCOL.md §10), and so how an operator counts the devices that know a new root.
 */
export function rootFingerprint(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
}

export type NextRootCheck = { readonly ok: true; readonly rootPem: string } | { readonly ok: false; readonly reason: string };

const chains = new ChainVerifier();

function spkiOf(certificate: X509Certificate): Buffer {
  return certificate.publicKey.export({ type: 'spki', format: 'der' });
}

/**
 * Whether a device may add `trust.nextRoot` to the roots it holds (PROTOCOL.md §7, "A new root"):
 * `nextRootCross` chains to a root it already holds (signed by it, a CA, valid now), and
 * `nextRoot` is a self-signed CA with exactly the cross certificate's subject and public key. So
 * the new root is vouched for by the old one, and nothing in the message is trusted for itself.
 * Call it only with a body already verified as §7 says.
 */
export function checkNextRoot(trust: NextRootTrust, heldRootPems: readonly string[], now = new Date()): NextRootCheck {
  let nextRoot: X509Certificate;
  let cross: X509Certificate;
  try {
    nextRoot = new X509Certificate(trust.nextRoot);
    cross = new X509Certificate(trust.nextRootCross);
  } catch {
    return { ok: false, reason: 'trust.nextRoot or trust.nextRootCross cannot be parsed' };
  }
  if (!cross.ca || !nextRoot.ca) return { ok: false, reason: 'trust.nextRoot and trust.nextRootCross must be CA certificates' };
  let reason = 'no root is held';
  const vouched = heldRootPems.some((held) => {
    // The cross certificate is the "leaf" of a chain of its own: signed by the held root directly.
    const check = chains.check(cross, [], held, now);
    if (!check.ok) reason = `trust.nextRootCross does not chain to a root the device holds: ${check.reason}`;
    return check.ok;
  });
  if (!vouched) return { ok: false, reason };
  if (nextRoot.subject !== cross.subject || !spkiOf(nextRoot).equals(spkiOf(cross))) {
    return { ok: false, reason: 'trust.nextRoot does not carry the subject and public key of trust.nextRootCross' };
  }
  if (!nextRoot.checkIssued(nextRoot) || !nextRoot.verify(nextRoot.publicKey)) return { ok: false, reason: 'trust.nextRoot is not self-signed' };
  if (new Date(nextRoot.validTo).getTime() < now.getTime()) return { ok: false, reason: 'trust.nextRoot has expired' };
  return { ok: true, rootPem: nextRoot.toString() };
}
