import { createPrivateKey, type KeyObject } from 'node:crypto';
import { BundleDownloadTokens, bundleDownloadUrl } from '../api/bundle-download-tokens.ts';
import type { ExpectedConfigurationRecorder } from '../api/route-deps.ts';
import type { CertificateAuthority } from '../certs/certificate-authority.ts';
import type { SessionEnder } from '../cluster/session-end-notice.ts';
import type { PlatformConfig } from '../config/config.ts';
import type { Logger } from '../log/logger.ts';
import type { ProvisionerDependencies } from '../provisioner/dependencies.ts';
import { refreshExpectedConfigurations } from '../provisioner/expected-configuration.ts';
import type { ProvisionStore } from '../store/types.ts';
import { publicHost } from './cluster-runtime.ts';
import { openPlatformSecrets, type PlatformSecrets } from './platform-secrets.ts';

/**
 * Where devices are sent after provisioning: PROVISIO_ACCOUNT_BROKER_URL, else this host's account
 * broker port (the bound one when the process knows it: port 0 picks a free one).
 */
export function accountBrokerUrlOf(config: PlatformConfig, port = config.accountMqttsPort): string {
  return config.accountBrokerUrl ?? `mqtts://${publicHost(config)}:${port}`;
}

/** Base of bundle download links: PROVISIO_PUBLIC_HTTP_URL, else this host's API port. */
export function publicHttpUrlOf(config: PlatformConfig, port = config.httpPort): string {
  return (config.publicHttpUrl ?? `http://${publicHost(config)}:${port}`).replace(/\/+$/, '');
}

/**
 * The CA's signing certificate and key in use now: read at each signature, so a certificate
 * reissued while the process runs (live-certificate-reissue.ts) signs the next message.
 */
function currentSigning(ca: CertificateAuthority): ProvisionerDependencies['signing'] {
  let keyPem = '';
  let key: KeyObject | null = null;
  return {
    get certPem() {
      return ca.signingCredentials.certPem;
    },
    get key() {
      const credentials = ca.signingCredentials;
      if (key === null || credentials.keyPem !== keyPem) {
        key = createPrivateKey(credentials.keyPem);
        keyPem = credentials.keyPem;
      }
      return key;
    },
  };
}

/**
 * What a provisioner (or a birth handler) of a separate process needs. The signing key, device
 * key secret and bundle token key come from the shared data directory (CA files, secrets file),
 * so every worker signs and derives exactly as the others do.
 */
export async function provisionerDependencies(
  config: PlatformConfig,
  store: ProvisionStore,
  ca: CertificateAuthority,
  log: Logger,
  /** The all-in-one process knows its listeners' real ports and already holds the token keys. How sessions are ended differs per process. */
  known: {
    readonly accountBrokerUrl?: string;
    readonly httpBaseUrl?: string;
    readonly downloadTokens?: BundleDownloadTokens;
    readonly sessions: SessionEnder;
    readonly secrets?: PlatformSecrets;
  },
): Promise<ProvisionerDependencies> {
  const secrets = known.secrets ?? (await openPlatformSecrets(config, store, log));
  const downloadTokens = known.downloadTokens ?? new BundleDownloadTokens(secrets.bundleToken);
  const httpBaseUrl = known.httpBaseUrl ?? publicHttpUrlOf(config);
  return {
    store,
    issuer: ca,
    signing: currentSigning(ca),
    chainPems: ca.chainPems,
    ...(ca.nextRoot ? { nextRootTrust: { nextRoot: ca.nextRoot.certificatePem, nextRootCross: ca.nextRoot.crossCertificatePem } } : {}),
    provisioningAccount: config.provisioningAccount,
    accountBrokerUrl: known.accountBrokerUrl ?? accountBrokerUrlOf(config),
    bundleDownloadUrl: async (bundle, clientId) =>
      bundleDownloadUrl(httpBaseUrl, bundle.id, downloadTokens.create({ bundleId: bundle.id, clientId, ttlSeconds: config.bundleTokenTtlSeconds })),
    deviceKeySecret: secrets.deviceKey.current,
    previousDeviceKeySecrets: secrets.deviceKey.previous,
    maxMessageBytes: config.maxMessageBytes,
    allowKeyGenerationOverPlainMqtt: config.allowKeyGenerationOverPlainMqtt,
    rateLimits: config,
    certificateRenewal: config,
    sessions: known.sessions,
    log,
  };
}

/**
 * The API's recorder of expected configurations (api/route-deps.ts), on the provisioner's rules
 * (provisioner/expected-configuration.ts). Not awaited: the API answers at once, and the records
 * follow within moments however many devices the change touches.
 */
export function expectedConfigurationRecorder(deps: {
  readonly store: ProvisionStore;
  readonly accountBrokerUrl: string;
  readonly log: Logger;
}): ExpectedConfigurationRecorder {
  return {
    async record(accountId, filter) {
      refreshExpectedConfigurations(deps, accountId, filter).catch((error: unknown) =>
        deps.log.warn({ err: error, accountId }, 'expected configurations not recorded'),
      );
    },
  };
}
