import { randomUUID } from 'node:crypto';
import { createApiApp } from '../api/app.ts';
import { initAdminToken } from '../api/api-tokens.ts';
import { writeAdminTokenFile } from './admin-token-file.ts';
import { ApiTokenAuthenticator } from '../api/auth.ts';
import { BundleDownloadTokens } from '../api/bundle-download-tokens.ts';
import { BundleStorage } from '../api/bundle-storage.ts';
import { startHttpServer, type RunningHttpServer } from './http-server.ts';
import { startMetricsServer } from './metrics-server.ts';
import { startProcessMetrics } from '../metrics/metrics.ts';
import { startAccountBroker, type AccountBroker } from '../broker/account-broker.ts';
import { startProvisionBroker, type ProvisionBroker } from '../broker/provision-broker.ts';
import { localSessionEnder } from '../broker/session-terminator.ts';
import type { FleetUpdateSender } from '../cluster/fleet-update-notice.ts';
import type { RenewNowSender } from '../cluster/renew-now-notice.ts';
import type { SessionEnder } from '../cluster/session-end-notice.ts';
import { openCertificateAuthority, certificateAuthorityOptions, type CertificateAuthority } from '../certs/certificate-authority.ts';
import type { PlatformConfig } from '../config/config.ts';
import type { Logger } from '../log/logger.ts';
import { aedesTransport } from '../provisioner/aedes-transport.ts';
import { localPublishTransport } from '../provisioner/local-publish-transport.ts';
import { recordDeviceOffline } from '../provisioner/birth-handler.ts';
import { settleRenewal } from '../provisioner/renewal-settlement.ts';
import { startProvisioner, type Provisioner } from '../provisioner/provisioner.ts';
import { openStore } from '../store/open-store.ts';
import { generateSecret } from '../crypto/secret-hash.ts';
import type { ProvisionStore } from '../store/types.ts';
import { publicHost } from './cluster-runtime.ts';
import { startAuditRetention } from './audit-retention-job.ts';
import { startProvisioningCodeSweep } from './provisioning-code-sweep.ts';
import { provisioningCodeKeys } from '../crypto/provisioning-code-hash.ts';
import { crlPublisher, publicCrlUrlOf, revocationsRefreshCrl } from './crl-source.ts';
import { prepareDataDir } from './data-dir.ts';
import { openPlatformSecrets } from './platform-secrets.ts';
import { startWebhookDispatcher } from '../api/webhooks/webhook-dispatcher.ts';
import { WebhookSecretBox } from '../api/webhooks/webhook-secret-box.ts';
import { accountBrokerUrlOf, expectedConfigurationRecorder, provisionerDependencies, publicHttpUrlOf } from './provisioner-deps.ts';
import { startAccountBrokerServices, type AccountBrokerSenders } from './account-broker-services.ts';
import { ShutdownSequence } from './shutdown-sequence.ts';
import { startDiscoveryService } from './discovery-service.ts';

export interface RunningPlatform {
  readonly config: PlatformConfig;
  readonly store: ProvisionStore;
  readonly ca: CertificateAuthority;
  readonly provisionBroker: ProvisionBroker;
  readonly accountBroker: AccountBroker;
  /** What the API and the provisioner call to end live sessions (both brokers, in place). */
  readonly sessions: SessionEnder;
  readonly http: RunningHttpServer;
  /** The bound port of the discovery listener (mutual TLS, docs/PROTOCOL.md §19). */
  readonly discoveryPort: number;
  /** The admin token when this start generated it (shown once), else null. */
  readonly generatedAdminToken: string | null;
  /** Where that token was written (mode 0600), for the operator. */
  readonly generatedAdminTokenFile: string | null;
  /** The provisioning worker can be stopped and started again (tests, maintenance). */
  readonly provisioner: { stop(): Promise<void>; start(): Promise<void> };
  /** Where each listener is, for people. */
  readonly endpoints: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

export interface PlatformOptions {
  /** The provision broker's brute-force guard clock, for tests that move lock-outs on without waiting; default Date.now. */
  readonly guardClock?: () => number;
}

/**
 * The all-in-one platform: store, CA, provision broker, account broker, provisioner, birth
 * handler and admin API in one process. Starts in dependency order, closes in reverse.
 */
export async function startPlatform(config: PlatformConfig, log: Logger, options: PlatformOptions = {}): Promise<RunningPlatform> {
  const shutdown = new ShutdownSequence(log);
  try {
    prepareDataDir(config.dataDir); // the CA and bundles live there whatever the store
    const store = await openStore(config);
    shutdown.add(() => store.close());
    const auditRetention = startAuditRetention(config, store, log);
    shutdown.add(() => auditRetention.close());
    const codeSweep = startProvisioningCodeSweep(store, log);
    shutdown.add(() => codeSweep.close());
    // The CRL's URL names the HTTP port, known once the API listens (port 0 picks one); no device certificate is issued before.
    let httpPort: number | undefined;
    const ca = await openCertificateAuthority({
      ...certificateAuthorityOptions(config, log.child({ component: 'ca' })),
      crlDistributionPoint: (issuingCaId) => (httpPort === undefined ? undefined : publicCrlUrlOf(config, httpPort, issuingCaId)),
    });
    const generatedAdminToken = await initAdminToken(store, config, log);
    // Written at once: only its hash is stored, so a start-up that fails after this point must not lose it.
    const generatedAdminTokenFile = generatedAdminToken ? writeAdminTokenFile(config.dataDir, generatedAdminToken) : null;
    const internal = { username: config.internalUsername, password: config.internalPassword ?? generateSecret(32) };

    const secrets = await openPlatformSecrets(config, store, log);
    const codeKeys = provisioningCodeKeys(secrets.deviceKey);
    const provisionBroker = await startProvisionBroker({
      config,
      store,
      serverCredentials: ca.serverCredentials,
      internal,
      codeKeys,
      log,
      now: options.guardClock,
    });
    shutdown.add(() => provisionBroker.close());
    // Where the registry shows this process's devices online; a new one at each start, so a restart after kill -9 finds the old one silent.
    const brokerId = `account-${randomUUID()}`;
    const accountBroker = await startAccountBroker({
      config,
      store,
      serverCredentials: ca.serverCredentials,
      clientCaPems: ca.clientCaPems,
      log,
      onDeviceDisconnected: (account, clientId) => void recordDeviceOffline(store, log, account, clientId, brokerId),
      // CERT-V1: the first CONNECT with a renewed certificate revokes the one it renews (`sessions` is set just below, before any device gets that far).
      onRenewedCertificateUsed: (certificate) => settleRenewal({ store, sessions, log }, certificate, 'first-connect'),
    });
    shutdown.add(() => accountBroker.close());
    const crl = crlPublisher({ ca, store, validityMs: config.crlValiditySeconds * 1000, log: log.child({ component: 'crl' }) });
    shutdown.add(async () => crl.close());
    // Revocations end live sessions on both brokers before the API or the provisioner goes on, and make the published CRL stale.
    const sessions = revocationsRefreshCrl(localSessionEnder([provisionBroker.sessions, accountBroker.sessions]), crl);

    const downloadTokens = new BundleDownloadTokens(secrets.bundleToken);
    // Webhooks: delivered from the audit log by a loop of their own, never in the way of provisioning.
    const webhookSecrets = new WebhookSecretBox(secrets.bundleToken);
    const webhooks = startWebhookDispatcher({ store, box: webhookSecrets, config, log: log.child({ component: 'webhooks' }) });
    shutdown.add(() => webhooks.close());
    // Renew now (POST /api/v1/certificate-renewals): signed and published here with the provisioner's signer, set once it exists below.
    let senders: AccountBrokerSenders | null = null;
    const renewals: RenewNowSender = {
      async tellToRenew(notice) {
        if (!senders) throw new Error('the platform is still starting');
        await senders.renewNow.tellToRenew(notice);
      },
    };
    // Fleet updates (a configuration edited, a device moved, an update job): before the broker side exists, the devices catch up at their birth.
    // Not awaited: the API answers at once, however many devices a change touches.
    const fleetUpdates: FleetUpdateSender = {
      async tellToUpdate(notice) {
        senders?.fleetUpdates.tellToUpdate(notice).catch((error: unknown) => log.warn({ err: error, cause: notice.cause }, 'fleet update not applied'));
      },
    };
    const app = createApiApp({
      store,
      config,
      log,
      bundleStorage: await BundleStorage.open(config.dataDir),
      downloadTokens,
      provisioningCodeKeys: codeKeys,
      adminTokens: new ApiTokenAuthenticator(store, config),
      crl: (issuingCaId) => crl.current(issuingCaId),
      sessions,
      renewals,
      fleetUpdates,
      // Recorded in the background: the API answers at once, however many devices a change touches.
      expectedConfigurations: expectedConfigurationRecorder({ store, accountBrokerUrl: accountBrokerUrlOf(config, accountBroker.mqttsPort), log }),
      webhookSecrets,
    });
    const http = await startHttpServer(app, { host: config.bindHost, port: config.httpPort });
    shutdown.add(() => http.close());
    // PROVISIO_METRICS_PORT: /metrics on a listener of its own; otherwise the API serves it to a global token (api/metrics-route.ts).
    startProcessMetrics();
    const metrics = config.metricsPort === undefined ? null : await startMetricsServer({ host: config.bindHost, port: config.metricsPort });
    if (metrics) shutdown.add(() => metrics.close());
    httpPort = http.port;
    publicCrlUrlOf(config, httpPort); // a PROVISIO_PUBLIC_HTTP_URL that is no URL stops start-up here
    const discovery = await startDiscoveryService({
      config,
      store,
      ca,
      log,
      ports: { provisionMqtts: provisionBroker.mqttsPort, accountMqtts: accountBroker.mqttsPort },
    });
    shutdown.add(() => discovery.close());

    // What devices are told honours PROVISIO_ACCOUNT_BROKER_URL and PROVISIO_PUBLIC_HTTP_URL, as in a cluster.
    const deps = await provisionerDependencies(config, store, ca, log, {
      accountBrokerUrl: accountBrokerUrlOf(config, accountBroker.mqttsPort),
      httpBaseUrl: publicHttpUrlOf(config, http.port),
      downloadTokens,
      sessions,
      secrets,
    });
    const startWorker = (): Promise<Provisioner> =>
      // The 'publish' event names the client, so the provisioner knows whether it came over TLS.
      startProvisioner(deps, localPublishTransport(provisionBroker.aedes), { maxInFlight: config.provisionerMaxInFlight });
    let provisioner: Provisioner | null = await startWorker();
    const provisionerControl = {
      async stop() {
        const running = provisioner;
        provisioner = null;
        await running?.close();
      },
      async start() {
        provisioner ??= await startWorker();
      },
    };
    // Added after the brokers, so stopped before them: in-flight replies still go out.
    shutdown.add(() => provisionerControl.stop());
    senders = await startAccountBrokerServices({
      config,
      brokerId,
      deps,
      ca,
      provisionBroker,
      accountBroker,
      birthTransport: aedesTransport(accountBroker.aedes),
      log,
      shutdown,
    });

    const host = publicHost(config);
    const endpoints: Record<string, string> = {
      'provision broker (TLS)': `mqtts://${host}:${provisionBroker.mqttsPort}`,
      ...(provisionBroker.mqttPort !== null ? { 'provision broker (TCP)': `mqtt://${host}:${provisionBroker.mqttPort}` } : {}),
      'account broker (mutual TLS)': `mqtts://${host}:${accountBroker.mqttsPort}`,
      'admin API': `http://${host}:${http.port}/api/v1`,
      'discovery (mutual TLS)': `https://${host}:${discovery.port}/discovery/v1/assignment`,
      metrics: metrics ? `http://${host}:${metrics.port}/metrics` : `http://${host}:${http.port}/metrics`,
      'root CA': `${config.dataDir}/ca/root-ca.cert.pem`,
    };
    return {
      config,
      store,
      ca,
      provisionBroker,
      accountBroker,
      sessions,
      http,
      discoveryPort: discovery.port,
      generatedAdminToken,
      generatedAdminTokenFile,
      provisioner: provisionerControl,
      endpoints,
      close: shutdown.run,
    };
  } catch (error) {
    await shutdown.run();
    throw error;
  }
}
