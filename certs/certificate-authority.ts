/**
 * The platform's certificate authority, the one entry point of certs/: opens (creates or loads)
 * the CA material, then issues device certificates, signs CRLs and checks device certificates.
 *
 *   root CA (10 y, self-signed or the operator's; the platform reads its certificate, never its key)
 *     └─ issuing CA (5 y, pathLen 0; rolled over by `npm run ca -- issue-intermediate`)
 *          ├─ server certificate of the brokers (serverAuth, SANs)
 *          ├─ message-signing certificate ("device management")
 *          └─ device client certificates (clientAuth, CN = clientId, O = account)
 *
 * During a root rollover (`npm run ca -- new-root` until `retire-root`) a next root stands beside
 * the root, with a cross certificate the root signed for it, and the issuing CA is the next root's:
 *
 *   root CA 1 ── cross certificate (root 2's subject and key) ─┐
 *   root CA 2 (self-signed) ───────────────────────────────────┴─ issuing CA 2 ─ …
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import type { PlatformConfig } from '../config/schema.ts';
import type { Logger } from '../log/logger.ts';
import { loadOrCreateCaMaterial, type OperatorCaFiles } from './ca-material.ts';
import { readKeyPassphrase } from './key-passphrase.ts';
import { leafRenewalDue, type Credential } from './leaf-material.ts';
import type { ParsedCsr } from './csr.ts';
import { issuerFor } from './ca-checks.ts';
import { authorityKeyIdentifierOf, readCertificate } from './certificate-reader.ts';
import { CrlSigner, crlIssuerIdOf, type CrlOptions, type RevokedCertificate, type SignedCrl } from './crl.ts';
import { DeviceIssuer, type DeviceIdentity, type IssuedDeviceCertificate } from './device-issuer.ts';
import { DeviceVerifier, type VerifiedDeviceCertificate } from './device-verifier.ts';
import type { KeyAlgorithm } from './key-pairs.ts';
import { fromPem } from './pem.ts';

export type { OperatorCaFiles } from './ca-material.ts';
export type { RevokedCertificate, CrlOptions, SignedCrl } from './crl.ts';
export type { DeviceIdentity, IssuedDeviceCertificate } from './device-issuer.ts';
export type { VerifiedDeviceCertificate } from './device-verifier.ts';
export type { KeyAlgorithm } from './key-pairs.ts';
export { caFileNames } from './ca-files.ts';

export interface TlsCredentials {
  readonly certPem: string;
  /** PKCS#8 PEM. */
  readonly keyPem: string;
}

export interface CertificateAuthorityOptions {
  readonly dataDir: string;
  /** Key type of generated CA, server and signing keys (device keys made here are always EC P-256). */
  readonly keyAlgorithm: KeyAlgorithm;
  /** Public host names of the brokers, put into the server certificate besides localhost, 127.0.0.1, ::1. */
  readonly hostnames: readonly string[];
  readonly deviceValidityDays: number;
  /** When set, device certificate validity in seconds, overriding deviceValidityDays. */
  readonly deviceValiditySeconds?: number;
  /**
   * URL of the CRL of the issuing CA with this id (CrlIssuer.id) for device certificates
   * (cRLDistributionPoints), read at each issue; absent or undefined: none written.
   */
  readonly crlDistributionPoint?: (issuingCaId: string) => string | undefined;
  /** Use the operator's CA instead of generating one. */
  readonly operatorCa?: OperatorCaFiles;
  /** Encrypts the private keys written under {dataDir}/ca, and decrypts those read. Unset: written unencrypted (mode 0600). */
  readonly keyPassphrase?: string;
  /** Server and signing certificates with fewer days left are reissued, at open and by reloadLeafCertificates (default 60). */
  readonly leafRenewalDays?: number;
  readonly log: Logger;
}

/** What reloadLeafCertificates put in place: the new serial of each certificate that changed, null for one that did not. */
export interface ReloadedLeaves {
  readonly server: string | null;
  readonly signing: string | null;
}

/** An issuing CA whose CRL the platform signs: the current one, and retired ones whose key was kept (ca/retired/). */
export interface CrlIssuer {
  /** The first 16 hex digits of its subject key identifier: names its list (/crl/issuing-ca-{id}.crl). */
  readonly id: string;
  /** Whether it is the issuing CA in use, which signs certificates; a retired one signs its CRL only. */
  readonly current: boolean;
  /** Its certificate's notAfter: no list is signed for it after. */
  readonly notAfter: number;
  /** Its CRL, listing the given serials (those of certificates it issued). */
  signCrl(revoked: readonly RevokedCertificate[], options?: CrlOptions): SignedCrl;
}

/** Root 2 of a root rollover, as devices are given it (PROTOCOL.md §7, "A new root"). */
export interface NextRootCertificates {
  /** Root 2, self-signed (PEM). */
  readonly certificatePem: string;
  /** Root 2's subject and key signed by the root (PEM). */
  readonly crossCertificatePem: string;
}

export interface CertificateAuthority {
  /** The root devices hold from the factory; during a root rollover, root 1 (until retire-root). */
  readonly rootCertificatePem: string;
  readonly issuingCertificatePem: string;
  /**
   * What signed bodies carry in certificates.chain: the issuing CA, then up to the root devices
   * hold. During a root rollover the issuing CA is root 2's, so the chain goes on through the cross
   * certificate: issuing CA 2, cross certificate, root 1.
   */
  readonly chainPems: readonly string[];
  /** chainPems as one PEM text. */
  readonly chainPem: string;
  /** Root 2 and its cross certificate between `npm run ca -- new-root` and `retire-root`, else null. */
  readonly nextRoot: NextRootCertificates | null;
  /**
   * What device certificates must chain to on the account broker: the issuing CA, earlier issuing
   * CAs still valid after a rollover (their devices keep working), the root and the next root.
   */
  readonly clientCaPems: readonly string[];
  /**
   * For the brokers' TLS listeners; certPem is the server certificate followed by the issuing CA
   * (and the cross certificate when the issuing CA is the next root's, for devices that hold only
   * the root). The current one: see reloadLeafCertificates.
   */
  readonly serverCredentials: TlsCredentials;
  /** Signs messages to devices; certPem is the signing certificate alone. The current one: see reloadLeafCertificates. */
  readonly signingCredentials: TlsCredentials;
  /** Whether the server or the signing certificate in use has fewer than leafRenewalDays left. */
  leafCertificatesDue(): boolean;
  /**
   * Loads the server and signing certificates from the data directory again, reissuing those due
   * (the code of the start), and puts them in use; the caller holds the CA lock and swaps the TLS
   * contexts of the certificates that changed.
   */
  reloadLeafCertificates(): Promise<ReloadedLeaves>;
  /** Whether the CA came from the operator's files (caRootCertFile...). */
  readonly operatorSupplied: boolean;
  /**
   * Certifies the key of a device's CSR. CSR_INVALID: not PEM, malformed, bad signature or a
   * key other than EC P-256/P-384 or RSA 2048+; CSR_SUBJECT_MISMATCH: CN is not the clientId.
   * A request already parsed and verified by parseCsr is not parsed again.
   */
  issueFromCsr(csr: string | ParsedCsr, device: DeviceIdentity): Promise<IssuedDeviceCertificate>;
  /** Makes an EC P-256 key for the device and certifies it; the key is returned once, not kept. */
  issueWithGeneratedKey(device: DeviceIdentity): Promise<IssuedDeviceCertificate & { keyPem: string }>;
  /** Certifies a public key the platform holds (EC P-256 keys derived by the provisioner). */
  issueForPublicKey(publicKey: KeyObject, device: DeviceIdentity): Promise<IssuedDeviceCertificate>;
  /** The current issuing CA first, then the retired ones with a kept key. */
  readonly crlIssuers: readonly CrlIssuer[];
  /** The CrlIssuer id a certificate (PEM) names as its authority key identifier; undefined when it names none or is unreadable. */
  crlIssuerIdOf(certificatePem: string): string | undefined;
  /** PEM "X509 CRL" signed by the issuing CA. */
  createCrl(revoked: readonly RevokedCertificate[], options?: CrlOptions): string;
  /** The same list in DER and PEM, with its cRLNumber, thisUpdate and nextUpdate (what the published CRL's HTTP headers say). */
  signCrl(revoked: readonly RevokedCertificate[], options?: CrlOptions): SignedCrl;
  /**
   * Checks a device certificate (PEM or as a TLS socket presents it): issued by our issuing CA,
   * not revoked, valid now. Throws CERTIFICATE_INVALID or CERTIFICATE_REVOKED.
   */
  verifyDeviceCertificate(certificate: string | X509Certificate, revokedSerials: ReadonlySet<string>): VerifiedDeviceCertificate;
}

/** Creates the CA under {dataDir}/ca on first start, loads it afterwards. */
export async function openCertificateAuthority(options: CertificateAuthorityOptions): Promise<CertificateAuthority> {
  const material = await loadOrCreateCaMaterial(options);
  const issuer = material.issuing.issuer;
  const deviceIssuer = new DeviceIssuer({
    issuer,
    issuerNotAfter: material.issuing.fields.notAfter,
    validityDays: options.deviceValidityDays,
    ...(options.deviceValiditySeconds !== undefined ? { validitySeconds: options.deviceValiditySeconds } : {}),
    ...(options.crlDistributionPoint ? { crlDistributionPoint: () => options.crlDistributionPoint?.(crlIssuerIdOf(issuer.keyIdentifier)) } : {}),
  });
  const verifier = new DeviceVerifier({ issuingCertificate: material.issuing.certificate });
  const crlSigner = new CrlSigner(issuer);
  const crlIssuers: CrlIssuer[] = [
    {
      id: crlIssuerIdOf(issuer.keyIdentifier),
      current: true,
      notAfter: material.issuing.fields.notAfter,
      signCrl: (revoked, crlOptions) => crlSigner.signCrl(revoked, crlOptions),
    },
  ];
  for (const retired of material.retiredIssuing) {
    if (!retired.privateKey) continue;
    // The retired key signs this CA's CRL and nothing else: it never reaches a DeviceIssuer.
    const retiredIssuer = issuerFor(retired.fields, retired.privateKey);
    const signer = new CrlSigner(retiredIssuer);
    crlIssuers.push({
      id: crlIssuerIdOf(retiredIssuer.keyIdentifier),
      current: false,
      notAfter: retired.fields.notAfter,
      signCrl: (revoked, crlOptions) => signer.signCrl(revoked, crlOptions),
    });
  }
  const rootCertificatePem = material.root.certPem;
  const issuingCertificatePem = material.issuing.certPem;
  const nextRoot = material.nextRoot;
  const issuingCertificate = material.issuing.certificate;
  const underNextRoot = nextRoot !== null && issuingCertificate.checkIssued(nextRoot.certificate) && issuingCertificate.verify(nextRoot.certificate.publicKey);
  // Up to the root every device holds: through the cross certificate when the issuing CA is root 2's.
  const intermediatePems = underNextRoot ? [issuingCertificatePem, nextRoot.crossPem] : [issuingCertificatePem];
  const chainPems = Object.freeze([...intermediatePems, rootCertificatePem]);
  const serverCredentialsOf = (server: Credential): TlsCredentials =>
    Object.freeze({ certPem: server.certPem + intermediatePems.join(''), keyPem: server.keyPem });
  const signingCredentialsOf = (signing: Credential): TlsCredentials => Object.freeze({ certPem: signing.certPem, keyPem: signing.keyPem });
  let leaves = { server: material.server, signing: material.signing };
  let serverCredentials = serverCredentialsOf(leaves.server);
  let signingCredentials = signingCredentialsOf(leaves.signing);
  const changedSerial = (before: Credential, after: Credential): string | null =>
    before.certificate.fingerprint256 === after.certificate.fingerprint256 ? null : after.certificate.serialNumber;

  return Object.freeze({
    rootCertificatePem,
    issuingCertificatePem,
    chainPems,
    chainPem: chainPems.join(''),
    nextRoot: nextRoot ? Object.freeze({ certificatePem: nextRoot.certPem, crossCertificatePem: nextRoot.crossPem }) : null,
    clientCaPems: Object.freeze([
      issuingCertificatePem,
      ...material.retiredIssuing.map((retired) => retired.certificate.toString()),
      rootCertificatePem,
      ...(nextRoot ? [nextRoot.certPem] : []),
    ]),
    crlIssuers: Object.freeze(crlIssuers.map((crlIssuer) => Object.freeze(crlIssuer))),
    crlIssuerIdOf: (certificatePem: string) => {
      try {
        const der = fromPem(certificatePem, ['CERTIFICATE']);
        const keyId = der && authorityKeyIdentifierOf(readCertificate(der));
        return keyId ? crlIssuerIdOf(keyId) : undefined;
      } catch {
        return undefined;
      }
    },
    get serverCredentials() {
      return serverCredentials;
    },
    get signingCredentials() {
      return signingCredentials;
    },
    leafCertificatesDue: () =>
      leafRenewalDue(leaves.server.fields.notAfter, options.leafRenewalDays) || leafRenewalDue(leaves.signing.fields.notAfter, options.leafRenewalDays),
    async reloadLeafCertificates(): Promise<ReloadedLeaves> {
      const reloaded = await material.reloadLeaves();
      const changed = { server: changedSerial(leaves.server, reloaded.server), signing: changedSerial(leaves.signing, reloaded.signing) };
      leaves = reloaded;
      serverCredentials = serverCredentialsOf(reloaded.server);
      signingCredentials = signingCredentialsOf(reloaded.signing);
      return changed;
    },
    operatorSupplied: material.operatorSupplied,
    issueFromCsr: async (csr: string | ParsedCsr, device: DeviceIdentity) => deviceIssuer.issueFromCsr(csr, device),
    issueWithGeneratedKey: (device: DeviceIdentity) => deviceIssuer.issueWithGeneratedKey(device),
    issueForPublicKey: async (publicKey: KeyObject, device: DeviceIdentity) => deviceIssuer.issueForPublicKey(publicKey, device),
    createCrl: (revoked: readonly RevokedCertificate[], crlOptions?: CrlOptions) => crlSigner.createCrl(revoked, crlOptions),
    signCrl: (revoked: readonly RevokedCertificate[], crlOptions?: CrlOptions) => crlSigner.signCrl(revoked, crlOptions),
    verifyDeviceCertificate: (certificate: string | X509Certificate, revokedSerials: ReadonlySet<string>) => verifier.verify(certificate, revokedSerials),
  });
}

/** The CA options a platform configuration asks for (the passphrase file is read here). */
export function certificateAuthorityOptions(config: PlatformConfig, log: Logger): CertificateAuthorityOptions {
  const { caRootCertFile, caIssuingCertFile, caIssuingKeyFile } = config;
  const keyPassphrase = readKeyPassphrase(config);
  return {
    dataDir: config.dataDir,
    keyAlgorithm: config.certKeyAlgorithm,
    hostnames: config.publicHostnames,
    deviceValidityDays: config.deviceCertValidityDays,
    ...(config.deviceCertValiditySeconds !== undefined ? { deviceValiditySeconds: config.deviceCertValiditySeconds } : {}),
    ...(caRootCertFile && caIssuingCertFile && caIssuingKeyFile
      ? { operatorCa: { rootCertFile: caRootCertFile, issuingCertFile: caIssuingCertFile, issuingKeyFile: caIssuingKeyFile } }
      : {}),
    ...(keyPassphrase !== undefined ? { keyPassphrase } : {}),
    leafRenewalDays: config.platformCertRenewalDays,
    log,
  };
}
