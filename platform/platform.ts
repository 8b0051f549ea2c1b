import { randomBytes, createPrivateKey } from 'node:crypto';
import { createApiApp } from '../api/app.ts';
import { initAdminToken } from '../api/api-tokens.ts';
import { ApiTokenAuthenticator } from '../api/auth.ts';
import { BundleDownloadTokens, bundleDownloadUrl } from '../api/bundle-download-tokens.ts';
import { BundleStorage } from '../api/bundle-storage.ts';
import { startHttpServer, type RunningHttpServer } from '../api/http-server.ts';
import { startAccountBroker, type AccountBroker } from '../broker/account-broker.ts';
import { startProvisionBroker, type ProvisionBroker } from '../broker/provision-broker.ts';
import { openCertificateAuthority, certificateAuthorityOptions, type CertificateAuthority } from '../certs/certificate-authority.ts';
import type { PlatformConfig } from '../config/config.ts';
import type { Logger } from '../log/logger.ts';
import { aedesTransport } from '../provisioner/aedes-transport.ts';
import { recordDeviceOffline, startBirthHandler } from '../provisioner/birth-handler.ts';
import type { ProvisionerDependencies } from '../provisioner/dependencies.ts';
import { startProvisioner, type Provisioner } from '../provisioner/provisioner.ts';
import { openStore } from '../store/open-store.ts';
import { generateSecret } from '../store/secret-hash.ts';
import type { ProvisionStore } from '../store/types.ts';
import { prepareDataDir } from './data-dir.ts';

export interface RunningPlatform {
  readonly config: PlatformConfig;
  readonly store: ProvisionStore;
  readonly ca: CertificateAuthority;
  readonly provisionBroker: ProvisionBroker;
  readonly accountBroker: AccountBroker;
  readonly http: RunningHttpServer;
  /** The admin token when this start generated it (shown once), else null. */
  readonly generatedAdminToken: string | null;
  /** The provisioning worker can be stopped and started again (tests, maintenance). */
  readonly provisioner: { stop(): Promise<void>; start(): Promise<void>; readonly running: () => boolean };
  /** Where each listener is, for people. */
  readonly endpoints: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

const deviceKeySecretSetting = 'device-key-secret';

/** The host devices are told to use: the first public host name. */
function publicHost(config: PlatformConfig): string {
  return config.publicHostnames[0] ?? 'localhost';
}

/**
 * The all-in-one platform: store, CA, provision broker, account broker, provisioner, birth
 * handler and admin API in one process. Starts in dependency order, closes in reverse.
 */
export async function startPlatform(config: PlatformConfig, log: Logger): Promise<RunningPlatform> {
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse().splice(0)) {
      try {
        await close();
      } catch (error) {
        log.warn({ err: error }, 'error while stopping');
      }
    }
  };
  try {
    prepareDataDir(config.dataDir); // the CA and bundles live there whatever the store
    const store = await openStore(config);
    closers.push(() => store.close());
    const ca = await openCertificateAuthority(certificateAuthorityOptions(config, log.child({ component: 'ca' })));
    const generatedAdminToken = await initAdminToken(store, config, log);
    const internal = { username: config.internalUsername, password: config.internalPassword ?? generateSecret(32) };

    const provisionBroker = await startProvisionBroker({ config, store, serverCredentials: ca.serverCredentials, internal, log });
    closers.push(() => provisionBroker.close());
    const accountBroker = await startAccountBroker({
      config,
      store,
      serverCredentials: ca.serverCredentials,
      clientCaPems: [ca.issuingCertificatePem, ca.rootCertificatePem],
      log,
      onDeviceDisconnected: (account, clientId) => void recordDeviceOffline(store, log, account, clientId),
    });
    closers.push(() => accountBroker.close());

    const downloadTokens = await BundleDownloadTokens.open(store);
    const bundleStorage = await BundleStorage.open(config.dataDir);
    const adminTokens = new ApiTokenAuthenticator(store, config);
    const app = createApiApp({
      store,
      config,
      log,
      bundleStorage,
      downloadTokens,
      adminTokens,
      crl: async () => ca.createCrl(await store.listRevokedCertificates().then((list) => list.map((c) => ({ serial: c.serial, revokedOn: c.revokedOn ?? c.createdOn })))),
    });
    const http = await startHttpServer(app, { host: config.bindHost, port: config.httpPort });
    closers.push(() => http.close());

    const host = publicHost(config);
    const httpBaseUrl = `http://${host}:${http.port}`;
    const accountBrokerUrl = `mqtts://${host}:${accountBroker.mqttsPort}`;
    const deviceKeySecret = Buffer.from(await store.setSettingIfAbsent(deviceKeySecretSetting, randomBytes(32).toString('base64url')), 'base64url');
    const deps: ProvisionerDependencies = {
      store,
      issuer: ca,
      signing: { certPem: ca.signingCredentials.certPem, key: createPrivateKey(ca.signingCredentials.keyPem) },
      chainPems: [ca.issuingCertificatePem, ca.rootCertificatePem],
      provisioningAccount: config.provisioningAccount,
      accountBrokerUrl,
      bundleDownloadUrl: async (bundle, clientId) =>
        bundleDownloadUrl(httpBaseUrl, bundle.id, downloadTokens.create({ bundleId: bundle.id, clientId, ttlSeconds: config.bundleTokenTtlSeconds })),
      deviceKeySecret,
      maxMessageBytes: config.maxMessageBytes,
      log,
    };
    let provisioner: Provisioner | null = await startProvisioner(deps, aedesTransport(provisionBroker.aedes), { maxInFlight: config.provisionerMaxInFlight });
    const provisionerControl = {
      running: () => provisioner !== null,
      async stop() {
        const running = provisioner;
        provisioner = null;
        await running?.close();
      },
      async start() {
        provisioner ??= await startProvisioner(deps, aedesTransport(provisionBroker.aedes), { maxInFlight: config.provisionerMaxInFlight });
      },
    };
    // Registered after the brokers, so closed before them: in-flight replies still go out.
    closers.push(() => provisionerControl.stop());
    const birthHandler = await startBirthHandler(deps, aedesTransport(accountBroker.aedes));
    closers.push(() => birthHandler.close());

    const endpoints: Record<string, string> = {
      'provision broker (TLS)': `mqtts://${host}:${provisionBroker.mqttsPort}`,
      ...(provisionBroker.mqttPort !== null ? { 'provision broker (TCP)': `mqtt://${host}:${provisionBroker.mqttPort}` } : {}),
      'account broker (mutual TLS)': accountBrokerUrl,
      'admin API': `${httpBaseUrl}/api/v1`,
      'root CA': `${config.dataDir}/ca/root-ca.cert.pem`,
    };
    return {
      config,
      store,
      ca,
      provisionBroker,
      accountBroker,
      http,
      generatedAdminToken,
      provisioner: provisionerControl,
      endpoints,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
