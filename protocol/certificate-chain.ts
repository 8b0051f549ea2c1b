import { X509Certificate } from 'node:crypto';

/** Splits a PEM bundle into its certificates. */
export function splitPemCertificates(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

export type ChainCheck = { ok: true } | { ok: false; reason: string };

/**
 * ca-authentication: does `leaf` chain up through `intermediates` to `trustedRoot`, every link
 * signed by the next and valid at `now`? The root must be the one the device was given,
 * byte for byte, never one taken from the message.
 */
export function checkChain(
  leafPem: string,
  intermediatePems: readonly string[],
  trustedRootPem: string,
  now = new Date(),
): ChainCheck {
  let leaf: X509Certificate;
  let root: X509Certificate;
  let intermediates: X509Certificate[];
  try {
    leaf = new X509Certificate(leafPem);
    root = new X509Certificate(trustedRootPem);
    intermediates = intermediatePems.map((pem) => new X509Certificate(pem)).filter((c) => c.fingerprint256 !== root.fingerprint256);
  } catch {
    return { ok: false, reason: 'a certificate in the chain cannot be parsed' };
  }
  const chain = [leaf, ...intermediates, root];
  for (const certificate of chain) {
    if (new Date(certificate.validFrom) > now || new Date(certificate.validTo) < now) {
      return { ok: false, reason: `certificate ${certificate.subject.replace(/\n/g, ', ')} is not valid now` };
    }
  }
  for (let i = 0; i < chain.length - 1; i += 1) {
    const child = chain[i]!;
    const parent = chain[i + 1]!;
    if (!parent.ca) return { ok: false, reason: `${parent.subject.replace(/\n/g, ', ')} is not a CA` };
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) {
      return { ok: false, reason: `${child.subject.replace(/\n/g, ', ')} is not signed by ${parent.subject.replace(/\n/g, ', ')}` };
    }
  }
  if (!root.verify(root.publicKey)) return { ok: false, reason: 'the trusted root is not self-signed' };
  return { ok: true };
}
