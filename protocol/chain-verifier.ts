import { X509Certificate } from 'node:crypto';
import type { ChainCheck } from './certificate-chain.ts';
import { ContentCache } from './content-cache.ts';

/** A parsed certificate and what the check reads from it, worked out once. */
interface Parsed {
  readonly certificate: X509Certificate;
  readonly validFrom: number;
  readonly validTo: number;
  /** The subject on one line, as the reasons print it. */
  readonly label: string;
  /** Parsed from a PEM through the cache (the same for every device): its links may be remembered. */
  readonly shared: boolean;
}

function describe(certificate: X509Certificate, shared: boolean): Parsed {
  return {
    certificate,
    validFrom: new Date(certificate.validFrom).getTime(),
    validTo: new Date(certificate.validTo).getTime(),
    label: certificate.subject.replace(/\n/g, ', '),
    shared,
  };
}

/**
 * ca-authentication (docs/PROTOCOL.md §7), remembering what does not change between devices: every device receives the same root, issuing CA and signing
 * certificate, so those are parsed once (keyed by their PEM) and a signature between two of them
 * is verified once (keyed by both fingerprints). What depends on the time, validity now, is
 * checked on every call; a device's own certificate is verified every time.
 */
export class ChainVerifier {
  private readonly parsedByPem = new ContentCache<Parsed>(64);
  private readonly verifiedLinks = new ContentCache<boolean>(128);

  /** The certificate of this PEM, parsed once; throws like new X509Certificate on a bad PEM. */
  certificate(pem: string): X509Certificate {
    return this.parsed(pem).certificate;
  }

  /**
   * checkChain(leaf, intermediates, root, now); the leaf may be given parsed (a device's own
   * certificate, parsed once). The chain is walked upwards from the leaf, each certificate signed
   * by the next, and ends at the first certificate the held root signed: what follows it is not
   * needed. So a chain [issuing CA 2, cross certificate (root 2 signed by root 1), root 1] verifies
   * against root 1 through the cross certificate, and against root 2 at issuing CA 2 (PROTOCOL.md
   * §7, "A new root"). Only the certificates of the path walked must be valid now.
   */
  check(
    leaf: string | X509Certificate,
    intermediatePems: readonly string[],
    trustedRootPem: string,
    now = new Date(),
    /** The clock is not set (PROTOCOL.md §7): `now` is a lower bound, so only expiry can be judged. */
    clockUnset = false,
  ): ChainCheck {
    let first: Parsed;
    let root: Parsed;
    let intermediates: Parsed[];
    try {
      first = typeof leaf === 'string' ? this.parsed(leaf) : describe(leaf, false);
      root = this.parsed(trustedRootPem);
      const rootFingerprint = root.certificate.fingerprint256;
      intermediates = intermediatePems.map((pem) => this.parsed(pem)).filter((parsed) => parsed.certificate.fingerprint256 !== rootFingerprint);
    } catch {
      return { ok: false, reason: 'a certificate in the chain cannot be parsed' };
    }
    const at = now.getTime();
    const validNow = (parsed: Parsed): boolean => (clockUnset || parsed.validFrom <= at) && parsed.validTo >= at;
    if (!validNow(root)) return { ok: false, reason: `certificate ${root.label} is not valid now` };
    let current = first;
    for (let next = 0; ; next += 1) {
      if (!validNow(current)) return { ok: false, reason: `certificate ${current.label} is not valid now` };
      if (this.issuedBy(current, root)) break;
      const parent = intermediates[next];
      if (parent === undefined) return { ok: false, reason: `${current.label} is not signed by ${root.label}` };
      if (!parent.certificate.ca) return { ok: false, reason: `${parent.label} is not a CA` };
      if (!this.issuedBy(current, parent)) return { ok: false, reason: `${current.label} is not signed by ${parent.label}` };
      current = parent;
    }
    if (!root.certificate.ca) return { ok: false, reason: `${root.label} is not a CA` };
    const selfSigned = this.remembered(`${root.certificate.fingerprint256} self`, () => root.certificate.verify(root.certificate.publicKey));
    if (!selfSigned) return { ok: false, reason: 'the trusted root is not self-signed' };
    return { ok: true };
  }

  private parsed(pem: string): Parsed {
    return this.parsedByPem.get(pem, () => describe(new X509Certificate(pem), true));
  }

  private issuedBy(child: Parsed, parent: Parsed): boolean {
    const verify = (): boolean => child.certificate.checkIssued(parent.certificate) && child.certificate.verify(parent.certificate.publicKey);
    if (!child.shared) return verify();
    return this.remembered(`${child.certificate.fingerprint256} by ${parent.certificate.fingerprint256}`, verify);
  }

  private remembered(key: string, verify: () => boolean): boolean {
    return this.verifiedLinks.get(key, verify);
  }
}
