/** What each kind of certificate the platform issues contains: names, lifetimes, extensions. */
import type { KeyObject } from 'node:crypto';
import type { Asn1 } from './der.ts';
import { basicConstraints, crlDistributionPoints, extendedKeyUsage, keyUsage, subjectAltName, type KeyUsageBit } from './extensions.ts';
import { Oid } from './oids.ts';

export const platformOrganization = 'provisio';
export const signingCommonName = 'provisio message signing';

export const lifetimeDays = {
  root: 3652, // 10 years
  issuing: 1826, // 5 years
  server: 730,
  signing: 730,
} as const;

/** Server and signing certificates are reissued at start-up when fewer days than this remain. */
export const leafRenewalDays = 60;

export function rootCaExtensions(): Asn1[] {
  return [basicConstraints({ ca: true }), keyUsage(['keyCertSign', 'cRLSign'])];
}

/** pathLen 0: the issuing CA signs end-entity certificates only. */
export function issuingCaExtensions(): Asn1[] {
  return [basicConstraints({ ca: true, pathLength: 0 }), keyUsage(['keyCertSign', 'cRLSign'])];
}

/** RSA keys may also be used for key transport (TLS 1.2 RSA key exchange); EC keys only sign. */
function endEntityKeyUsage(key: KeyObject): Asn1 {
  const bits: KeyUsageBit[] = key.asymmetricKeyType === 'rsa' ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature'];
  return keyUsage(bits);
}

/** Names the brokers' certificate always carries, before the configured public host names. */
export const defaultServerNames = ['localhost', '127.0.0.1', '::1'] as const;

/** localhost, 127.0.0.1, ::1, then the configured names; duplicates (any case) dropped. */
export function serverNames(hostnames: readonly string[]): string[] {
  const seen = new Set<string>();
  return [...defaultServerNames, ...hostnames].filter((name) => {
    const key = name.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function serverExtensions(key: KeyObject, names: readonly string[]): Asn1[] {
  return [basicConstraints({ ca: false }), endEntityKeyUsage(key), extendedKeyUsage([Oid.serverAuth]), subjectAltName(names)];
}

/**
 * The message-signing ("device management") certificate only signs, and carries the purpose
 * that agents check (PROTOCOL.md §7): no other certificate of the platform has it.
 */
export function signingExtensions(): Asn1[] {
  return [basicConstraints({ ca: false }), keyUsage(['digitalSignature']), extendedKeyUsage([Oid.messageSigning])];
}

const deviceExtensionsByKey = new Map<string, readonly Asn1[]>();

/**
 * Device client certificates, with the URL of the published CRL when the platform has one
 * (cRLDistributionPoints: relying parties fetch it there without credentials). The nodes are
 * shared between calls (encoding does not mutate them).
 */
export function deviceExtensions(key: KeyObject, crlUrl?: string): readonly Asn1[] {
  const cacheKey = `${key.asymmetricKeyType ?? 'unknown'} ${crlUrl ?? ''}`;
  let extensions = deviceExtensionsByKey.get(cacheKey);
  if (!extensions) {
    extensions = [
      basicConstraints({ ca: false }),
      endEntityKeyUsage(key),
      extendedKeyUsage([Oid.clientAuth]),
      ...(crlUrl !== undefined ? [crlDistributionPoints(crlUrl)] : []),
    ];
    deviceExtensionsByKey.set(cacheKey, extensions);
  }
  return extensions;
}
