/**
 * Device client certificates, from a device's CSR or with a key generated here. This is the
 * hot path of provisioning a fleet: everything that does not depend on the device (issuer
 * name, authority key identifier, extensions, algorithm identifier, CA key) is prepared once.
 */
import type { KeyObject } from 'node:crypto';
import { PlatformError } from '../errors/platform-error.ts';
import { buildCertificate, clockSkewMs, dayMs, randomSerial, serialToHex, wholeSeconds, type Issuer } from './certificate-builder.ts';
import { isVerifiedCsr, parseCsr, type ParsedCsr } from './csr.ts';
import { generateDeviceKeyPair, privateKeyToPem, spkiDerOf } from './key-pairs.ts';
import { buildName } from './names.ts';
import { deviceExtensions } from './profiles.ts';
import { certificatesIssued } from '../metrics/metrics.ts';

/** Who a device certificate is for: CN = clientId, O = account. */
export interface DeviceIdentity {
  readonly clientId: string;
  readonly account: string;
}

export interface IssuedDeviceCertificate {
  /** Lower-case hex, as X509Certificate.serialNumber prints it (lower-cased). */
  readonly serial: string;
  /** The device certificate alone (PEM); the chain is CertificateAuthority.chainPem. */
  readonly certPem: string;
  /** Epoch ms, whole seconds, exactly as written in the certificate. */
  readonly notBefore: number;
  readonly notAfter: number;
  readonly clientId: string;
  readonly account: string;
}

export interface DeviceIssuerOptions {
  readonly issuer: Issuer;
  /** Device certificates never outlive the issuing CA. */
  readonly issuerNotAfter: number;
  readonly validityDays: number;
  /** When set, the validity in seconds instead of validityDays (PROVISIO_DEVICE_CERT_VALIDITY_SECONDS, for tests). */
  readonly validitySeconds?: number;
  readonly now?: () => number;
  /** The URL of the published CRL, written into each certificate (cRLDistributionPoints); read at each issue, since a process may learn its HTTP port after opening the CA. */
  readonly crlDistributionPoint?: () => string | undefined;
}

function checkIdentity(device: DeviceIdentity): void {
  for (const [field, value] of [
    ['clientId', device?.clientId],
    ['account', device?.account],
  ] as const) {
    // eslint-disable-next-line no-control-regex -- control characters are what this check rejects
    if (typeof value !== 'string' || value.length === 0 || /[\u0000-\u001f\u007f]/.test(value)) {
      throw new PlatformError('VALIDATION_FAILED', { detail: `${field} must be a non-empty string without control characters` });
    }
  }
}

/** CSR_SUBJECT_MISMATCH unless the request names exactly one CN, the device's clientId. */
export function checkCsrSubject(csr: ParsedCsr, clientId: string): void {
  if (csr.commonNames.length === 1 && csr.commonNames[0] === clientId) return;
  const named = csr.commonNames.length === 0 ? 'no CN' : `CN ${JSON.stringify(csr.commonNames.join(', '))}`;
  throw new PlatformError('CSR_SUBJECT_MISMATCH', { detail: `the request has ${named}, expected CN ${JSON.stringify(clientId)}` });
}

export class DeviceIssuer {
  readonly #options: DeviceIssuerOptions;
  readonly #now: () => number;

  constructor(options: DeviceIssuerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Certifies the public key of a verified CSR whose CN is the device's clientId. The provisioner
   * checks the CSR before it claims an attempt and passes it on parsed: parsing and verifying
   * it again was a tenth of the platform's time per device.
   */
  issueFromCsr(request: string | ParsedCsr, device: DeviceIdentity): IssuedDeviceCertificate {
    checkIdentity(device);
    const csr = isVerifiedCsr(request) ? request : parseCsr(request);
    checkCsrSubject(csr, device.clientId);
    // The subject and extensions are ours; attributes the CSR asks for (extensionRequest) are ignored.
    return this.#issue(csr.publicKey, csr.subjectPublicKeyInfo, device);
  }

  /**
   * For devices that cannot make a key: an EC P-256 key made here, whatever certKeyAlgorithm
   * says (see generateDeviceKeyPair). The private key is returned once and not kept.
   */
  async issueWithGeneratedKey(device: DeviceIdentity): Promise<IssuedDeviceCertificate & { keyPem: string }> {
    checkIdentity(device);
    const keys = await generateDeviceKeyPair();
    const issued = this.#issue(keys.publicKey, spkiDerOf(keys.publicKey), device);
    return { ...issued, keyPem: privateKeyToPem(keys.privateKey) };
  }

  /**
   * Certifies a public key the platform already holds (the provisioner derives keys for devices
   * without a CSR, so that a repeated request gets the same key: provisioner/device-key-derivation.ts).
   */
  issueForPublicKey(publicKey: KeyObject, device: DeviceIdentity): IssuedDeviceCertificate {
    checkIdentity(device);
    return this.#issue(publicKey, spkiDerOf(publicKey), device);
  }

  #issue(publicKey: KeyObject, subjectPublicKeyInfo: Buffer, device: DeviceIdentity): IssuedDeviceCertificate {
    const now = wholeSeconds(this.#now());
    const notBefore = now - clockSkewMs;
    const validityMs = this.#options.validitySeconds !== undefined ? this.#options.validitySeconds * 1000 : this.#options.validityDays * dayMs;
    const notAfter = Math.min(now + validityMs, this.#options.issuerNotAfter);
    const serial = randomSerial();
    const built = buildCertificate(
      {
        serial,
        notBefore,
        notAfter,
        subject: buildName({ organization: device.account, commonName: device.clientId }),
        subjectPublicKeyInfo,
        extensions: deviceExtensions(publicKey, this.#options.crlDistributionPoint?.()),
      },
      this.#options.issuer,
    );
    certificatesIssued.inc();
    return { serial: serialToHex(serial), certPem: built.pem, notBefore, notAfter, clientId: device.clientId, account: device.account };
  }
}
