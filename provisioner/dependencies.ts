import type { KeyObject } from 'node:crypto';
import type { SessionEnder } from '../cluster/session-end-notice.ts';
import type { PlatformConfig } from '../config/config.ts';
import type { Logger } from '../log/logger.ts';
import type { CertificateAuthority } from '../certs/certificate-authority.ts';
import type { NextRootTrust } from '../protocol/root-trust.ts';
import type { BundleMetadata, ProvisionStore } from '../store/types.ts';
import type { DeviceRateLimitSettings } from './device-rate-limits.ts';

/** The part of the certificate authority the provisioner uses. */
export type DeviceCertificateIssuer = Pick<CertificateAuthority, 'issueFromCsr' | 'issueForPublicKey'>;

/** The CERT-V1 settings (config/certificate-schema.ts) the provisioner and the renewal handler read. */
export type CertificateRenewalSettings = Pick<
  PlatformConfig,
  'certificateRenewalShare' | 'certificateRenewalBurst' | 'certificateRenewalsPerHour' | 'certificateRenewalMaxInFlight'
>;

export interface ProvisionerDependencies {
  readonly store: ProvisionStore;
  readonly issuer: DeviceCertificateIssuer;
  /** The message-signing ("device management") certificate and its key. */
  readonly signing: { readonly certPem: string; readonly key: KeyObject };
  /** Issuing CA then root, PEM (through the cross certificate during a root rollover: CertificateAuthority.chainPems). */
  readonly chainPems: readonly string[];
  /**
   * During a root rollover: root 2 and its cross certificate, sent in every provision and renewal
   * result (`trust`) so that devices learn root 2 before root 1 is retired (PROTOCOL.md §7).
   */
  readonly nextRootTrust?: NextRootTrust;
  readonly provisioningAccount: string;
  /** Where devices of accounts without their own broker go: the platform's account broker. */
  readonly accountBrokerUrl: string;
  /** A short-lived download link for a bundle, for one device. */
  readonly bundleDownloadUrl: (bundle: BundleMetadata, clientId: string) => Promise<string>;
  /** Secret from which keys of devices without a CSR are derived (device-key-derivation.ts). */
  readonly deviceKeySecret: Buffer;
  /** Earlier device-key secrets kept after a rotation: repeats of attempts answered before it still get their key. */
  readonly previousDeviceKeySecrets?: readonly Buffer[];
  readonly maxMessageBytes: number;
  /** Send generated private keys over plain TCP too (PROVISIO_ALLOW_KEY_GENERATION_OVER_PLAIN_MQTT). */
  readonly allowKeyGenerationOverPlainMqtt: boolean;
  /** What one device may make the platform do per unit of time (issue 20 §2). */
  readonly rateLimits: DeviceRateLimitSettings;
  /** When devices renew their certificates, and how often they may ask (CERT-V1). */
  readonly certificateRenewal: CertificateRenewalSettings;
  /** Ends the live session of a certificate the provisioner revokes (a superseded identity). */
  readonly sessions: SessionEnder;
  readonly log: Logger;
  readonly now?: () => number;
}
