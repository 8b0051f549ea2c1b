/**
 * Checks a device certificate presented to the platform (mutual TLS): issued by our issuing CA,
 * a device (client) certificate, not revoked, valid now. Nothing but CERTIFICATE_INVALID or
 * CERTIFICATE_REVOKED leaves here.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { isPlatformError, PlatformError } from '../errors/platform-error.ts';
import { extendedKeyUsagesOf, isCaCertificate, readCertificate, type CertificateFields } from './certificate-reader.ts';
import { Oid } from './oids.ts';

export interface VerifiedDeviceCertificate {
  readonly clientId: string;
  readonly account: string;
  /** Lower-case hex. */
  readonly serial: string;
}

export interface DeviceVerifierOptions {
  readonly issuingCertificate: X509Certificate;
  readonly now?: () => number;
}

function invalid(detail: string, cause?: unknown): PlatformError {
  return new PlatformError('CERTIFICATE_INVALID', { detail, cause });
}

export class DeviceVerifier {
  readonly #issuing: X509Certificate;
  readonly #issuingKey: KeyObject;
  readonly #now: () => number;

  constructor(options: DeviceVerifierOptions) {
    this.#issuing = options.issuingCertificate;
    this.#issuingKey = options.issuingCertificate.publicKey;
    this.#now = options.now ?? Date.now;
  }

  verify(certificate: string | X509Certificate, revokedSerials: ReadonlySet<string>): VerifiedDeviceCertificate {
    try {
      return this.#verify(certificate, revokedSerials);
    } catch (error) {
      throw isPlatformError(error) ? error : invalid('unreadable certificate', error);
    }
  }

  #verify(certificate: string | X509Certificate, revokedSerials: ReadonlySet<string>): VerifiedDeviceCertificate {
    let x509: X509Certificate;
    try {
      x509 = typeof certificate === 'string' ? new X509Certificate(certificate) : certificate;
    } catch (error) {
      throw invalid('not a readable certificate', error);
    }
    if (!(x509 instanceof X509Certificate)) throw invalid('not a certificate');
    if (!x509.checkIssued(this.#issuing) || !x509.verify(this.#issuingKey)) {
      throw invalid('not issued by this platform');
    }
    let fields: CertificateFields;
    try {
      fields = readCertificate(x509.raw);
    } catch (error) {
      throw invalid('unreadable certificate', error);
    }
    if (isCaCertificate(fields) || !extendedKeyUsagesOf(fields).includes(Oid.clientAuth)) {
      throw invalid('not a device certificate');
    }
    const [clientId, ...otherNames] = fields.subject.commonNames;
    const [account, ...otherAccounts] = fields.subject.organizations;
    if (clientId === undefined || account === undefined || otherNames.length > 0 || otherAccounts.length > 0) {
      throw invalid('the subject does not name one device of one account');
    }
    if (revokedSerials.has(fields.serialHex)) {
      throw new PlatformError('CERTIFICATE_REVOKED', { detail: `serial ${fields.serialHex}` });
    }
    const now = this.#now();
    if (now < fields.notBefore) throw invalid(`not valid before ${new Date(fields.notBefore).toISOString()}`);
    if (now > fields.notAfter) throw invalid(`expired on ${new Date(fields.notAfter).toISOString()}`);
    return { clientId, account, serial: fields.serialHex };
  }
}
