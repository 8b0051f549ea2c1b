/**
 * `npm run start:api`: the admin HTTP API (and bundle downloads) of a cluster, on the shared
 * Redis store. Creates the CA on a first start (the others wait for it, platform/ca-lock.ts) and
 * signs the CRL with it.
 */
import { createApiApp } from '../api/app.ts';
import { provisioningCodeKeys } from '../crypto/provisioning-code-hash.ts';
import { initAdminToken } from '../api/api-tokens.ts';
import { ApiTokenAuthenticator } from '../api/auth.ts';
import { BundleDownloadTokens } from '../api/bundle-download-tokens.ts';
import { BundleStorage } from '../api/bundle-storage.ts';
import { startHttpServer } from './http-server.ts';
import { currentSessionEndPosition, followSessionEnds, sessionEndPublisher } from '../cluster/session-end-stream.ts';
import { openStore } from '../store/open-store.ts';
import { fleetUpdateChannelPublisher } from '../cluster/fleet-update-channel.ts';
import { renewNowChannelPublisher } from '../cluster/renew-now-channel.ts';
import { openSharedCertificateAuthority } from './ca-lock.ts';
import { adminTokenNotice, writeAdminTokenFile } from './admin-token-file.ts';
import { startAuditRetention } from './audit-retention-job.ts';
import { startProvisioningCodeSweep } from './provisioning-code-sweep.ts';
import { crlPublisher, isRevocationNotice, revocationsRefreshCrl } from './crl-source.ts';
import { openPlatformSecrets } from './platform-secrets.ts';
import { startWebhookDispatcher } from '../api/webhooks/webhook-dispatcher.ts';
import { WebhookSecretBox } from '../api/webhooks/webhook-secret-box.ts';
import { ShutdownSequence } from './shutdown-sequence.ts';
import { redisCheck, runService, serviceRedis } from './cluster-runtime.ts';
import { accountBrokerUrlOf, expectedConfigurationRecorder } from './provisioner-deps.ts';
import { startDiscoveryService } from './discovery-service.ts';
import { startLiveCertificateReissue } from './live-certificate-reissue.ts';

await runService('api', async (config, log) => {
  const shutdown = new ShutdownSequence(log);
  try {
    const store = await openStore(config);
    shutdown.add(() => store.close());
    const auditRetention = startAuditRetention(config, store, log);
    shutdown.add(() => auditRetention.close());
    const codeSweep = startProvisioningCodeSweep(store, log);
    shutdown.add(() => codeSweep.close());
    const ca = await openSharedCertificateAuthority(config, log);
    const generatedAdminToken = await initAdminToken(store, config, log);
    // Written at once: only its hash is stored, so a start-up that fails after this point must not lose it.
    const adminTokenFile = generatedAdminToken ? writeAdminTokenFile(config.dataDir, generatedAdminToken) : null;
    const redis = serviceRedis(config, log);
    shutdown.add(async () => void redis.disconnect());
    const crl = crlPublisher({ ca, store, validityMs: config.crlValiditySeconds * 1000, log: log.child({ component: 'crl' }) });
    shutdown.add(async () => crl.close());
    // Revocations made by the provisioners (re-provisioning, abandoned attempts) reach this process
    // as the session-end notices every broker reads: each one makes the published CRL stale.
    const noticeRedis = serviceRedis(config, log);
    const notices = followSessionEnds({
      redis: noticeRedis,
      redisKeyPrefix: config.redisKeyPrefix,
      from: await currentSessionEndPosition(noticeRedis, config.redisKeyPrefix),
      apply: async (notice) => {
        if (isRevocationNotice(notice)) crl.invalidate();
      },
      onGap: async () => crl.invalidate(),
      log: log.child({ component: 'session-end-stream' }),
    });
    shutdown.add(() => notices.close());
    const secrets = await openPlatformSecrets(config, store, log);
    // Webhooks: every API process runs the dispatcher; a lease per webhook in the store lets one deliver it at a time.
    const webhookSecrets = new WebhookSecretBox(secrets.bundleToken);
    const webhooks = startWebhookDispatcher({ store, box: webhookSecrets, config, log: log.child({ component: 'webhooks' }) });
    shutdown.add(() => webhooks.close());
    const app = createApiApp({
      store,
      config,
      log,
      bundleStorage: await BundleStorage.open(config.dataDir),
      downloadTokens: new BundleDownloadTokens(secrets.bundleToken),
      webhookSecrets,
      provisioningCodeKeys: provisioningCodeKeys(secrets.deviceKey),
      adminTokens: new ApiTokenAuthenticator(store, config),
      // Every broker process hears the renew-now channel and tells the devices connected to it.
      renewals: renewNowChannelPublisher({ redis, redisKeyPrefix: config.redisKeyPrefix, log: log.child({ component: 'renew-now-channel' }) }),
      // Every broker process hears the fleet-update channel and brings the devices connected to it up to date.
      fleetUpdates: fleetUpdateChannelPublisher(redis, config.redisKeyPrefix, log.child({ component: 'fleet-update-channel' })),
      expectedConfigurations: expectedConfigurationRecorder({ store, accountBrokerUrl: accountBrokerUrlOf(config), log }),
      crl: (issuingCaId) => crl.current(issuingCaId),
      // Every broker process reads the session-end stream and ends the sessions a notice names.
      // Revocations made here make the CRL stale at once, before the notice goes out.
      sessions: revocationsRefreshCrl(sessionEndPublisher({ redis, redisKeyPrefix: config.redisKeyPrefix, maxLength: config.sessionEndStreamMaxLength }), crl),
    });
    const http = await startHttpServer(app, { host: config.bindHost, port: config.httpPort });
    shutdown.add(() => http.close());
    // Discovery serves the brokers' server certificate: this process reloads it when the brokers reissue it, as a provisioner does.
    const discovery = await startDiscoveryService({ config, store, ca, log });
    shutdown.add(() => discovery.close());
    const reissue = startLiveCertificateReissue(config, ca, [], log);
    shutdown.add(() => reissue.close());
    // Into a 0600 file whose path alone is printed, never beside the log (platform/admin-token-file.ts).
    if (adminTokenFile) process.stdout.write(adminTokenNotice(adminTokenFile));
    return { endpoints: { http: http.port, discovery: discovery.port }, checks: [redisCheck(redis)], close: shutdown.run };
  } catch (error) {
    await shutdown.run();
    throw error;
  }
});
