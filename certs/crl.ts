/**
 * Certificate revocation lists (RFC 5280 5), signed by the issuing CA: TBSCertList built with
 * node-forge's ASN.1 module, signed with node:crypto.
 */
import { PlatformError } from '../errors/platform-error.ts';
import { signStructure, wholeSeconds, dayMs, type Issuer } from './certificate-builder.ts';
import { explicit, sequence, smallInteger, time, toDer, unsignedInteger, type Asn1 } from './der.ts';
import { crlNumber } from './extensions.ts';
import { toPem } from './pem.ts';

export interface RevokedCertificate {
  /** Hex serial as issued (IssuedDeviceCertificate.serial); case is ignored. */
  readonly serial: string;
  /** Epoch ms. */
  readonly revokedOn: number;
}

export interface CrlOptions {
  /** How long relying parties may use this list before fetching a newer one (nextUpdate). */
  readonly validForMs?: number;
}

export const defaultCrlValidityMs = 7 * dayMs;

/** A signed list and what a publisher puts in its HTTP headers. */
export interface SignedCrl {
  readonly der: Buffer;
  readonly pem: string;
  /** cRLNumber. */
  readonly number: bigint;
  /** Epoch ms, whole seconds, as written in the list. */
  readonly thisUpdate: number;
  readonly nextUpdate: number;
}

/**
 * What names an issuing CA's CRL (its URL, /crl/issuing-ca-{id}.crl): the first 16 hex digits of
 * its key identifier, which every certificate it issued carries as its authority key identifier.
 */
export function crlIssuerIdOf(keyIdentifier: Buffer): string {
  return keyIdentifier.toString('hex').slice(0, 16);
}

function serialBytes(serial: string): Buffer {
  if (typeof serial !== 'string' || !/^[0-9a-fA-F]{1,40}$/.test(serial)) {
    throw new PlatformError('VALIDATION_FAILED', { detail: `not a certificate serial: ${JSON.stringify(serial)}` });
  }
  return Buffer.from(serial.length % 2 ? `0${serial}` : serial, 'hex');
}

export class CrlSigner {
  readonly #issuer: Issuer;
  readonly #now: () => number;
  #lastNumber = 0n;

  constructor(issuer: Issuer, now: () => number = Date.now) {
    this.#issuer = issuer;
    this.#now = now;
  }

  /**
   * cRLNumber must grow with every list (RFC 5280 5.2.3). The clock in milliseconds does so
   * across restarts without storing anything; within a process it is forced to grow.
   */
  #nextNumber(now: number): bigint {
    const candidate = BigInt(now);
    this.#lastNumber = candidate > this.#lastNumber ? candidate : this.#lastNumber + 1n;
    return this.#lastNumber;
  }

  /** PEM "X509 CRL" listing the given serials. */
  createCrl(revoked: readonly RevokedCertificate[], options: CrlOptions = {}): string {
    return this.signCrl(revoked, options).pem;
  }

  /** The list listing the given serials, in DER and PEM, with its number and times. */
  signCrl(revoked: readonly RevokedCertificate[], options: CrlOptions = {}): SignedCrl {
    const now = this.#now();
    const thisUpdate = wholeSeconds(now);
    const nextUpdate = thisUpdate + (options.validForMs ?? defaultCrlValidityMs);
    const entries: Asn1[] = revoked.map((entry) => {
      if (!Number.isFinite(entry.revokedOn)) {
        throw new PlatformError('VALIDATION_FAILED', { detail: `revokedOn of ${entry.serial} is not a time` });
      }
      return sequence([unsignedInteger(serialBytes(entry.serial)), time(wholeSeconds(entry.revokedOn))]);
    });
    const number = Buffer.alloc(8);
    const crlNumberValue = this.#nextNumber(now);
    number.writeBigUInt64BE(crlNumberValue);
    const tbs = sequence([
      smallInteger(1), // v2
      this.#issuer.algorithm.identifier,
      this.#issuer.name,
      time(thisUpdate),
      time(nextUpdate),
      // An empty revokedCertificates must be omitted, not encoded as an empty SEQUENCE.
      ...(entries.length > 0 ? [sequence(entries)] : []),
      explicit(0, sequence([this.#issuer.authorityKeyIdentifier, crlNumber(unsignedInteger(number))])),
    ]);
    const der = signStructure(toDer(tbs), this.#issuer);
    return { der, pem: toPem('X509 CRL', der), number: crlNumberValue, thisUpdate, nextUpdate };
  }
}
