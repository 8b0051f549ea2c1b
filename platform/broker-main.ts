/**
 * `npm run start:broker`: one broker process of a cluster. The provision broker and the account
 * broker, with their sessions in Redis and one topic space shared with the other broker
 * processes; the provision messages its own devices publish go to the provision stream, for the
 * provisioner workers. Birth messages of its own account-broker devices are handled here.
 */
import { startAccountBroker } from '../broker/account-broker.ts';
import { bridgeProvisionMessagesToStream } from '../broker/provision-stream-bridge.ts';
import { startProvisionBroker } from '../broker/provision-broker.ts';
import { brokerBackends } from '../broker/shared-state.ts';
import { localSessionEnder } from '../broker/session-terminator.ts';
import { currentSessionEndPosition, followSessionEnds, sessionEndPublisher } from '../cluster/session-end-stream.ts';
import { recordDeviceOffline } from '../provisioner/birth-handler.ts';
import { settleRenewal } from '../provisioner/renewal-settlement.ts';
import { localPublishTransport } from '../provisioner/local-publish-transport.ts';
import { subscribeFleetUpdates } from '../cluster/fleet-update-channel.ts';
import { subscribeRenewNow } from '../cluster/renew-now-channel.ts';
import { openStore } from '../store/open-store.ts';
import { generateSecret } from '../crypto/secret-hash.ts';
import { openSharedCertificateAuthority } from './ca-lock.ts';
import { openPlatformSecrets } from './platform-secrets.ts';
import { provisioningCodeKeys } from '../crypto/provisioning-code-hash.ts';
import { startAccountBrokerServices } from './account-broker-services.ts';
import { ShutdownSequence } from './shutdown-sequence.ts';
import { nodeId, redisCheck, runService, serviceRedis } from './cluster-runtime.ts';
import { provisionerDependencies } from './provisioner-deps.ts';

await runService('broker', async (config, log) => {
  const shutdown = new ShutdownSequence(log);
  try {
    const store = await openStore(config);
    shutdown.add(() => store.close());
    const ca = await openSharedCertificateAuthority(config, log);
    const redis = serviceRedis(config, log);
    shutdown.add(async () => void redis.disconnect());
    // Where this process starts reading session-end notices: taken before its listeners accept anyone.
    const noticeRedis = serviceRedis(config, log);
    shutdown.add(async () => void noticeRedis.disconnect());
    const noticesFrom = await currentSessionEndPosition(noticeRedis, config.redisKeyPrefix);
    const id = nodeId('broker');
    const internal = { username: config.internalUsername, password: config.internalPassword ?? generateSecret(32) };
    // The same secrets file as every process: the code hash keys are those the API made the codes with.
    const secrets = await openPlatformSecrets(config, store, log);
    const provisionBroker = await startProvisionBroker({
      config,
      store,
      serverCredentials: ca.serverCredentials,
      internal,
      codeKeys: provisioningCodeKeys(secrets.deviceKey),
      log,
      backends: brokerBackends(config, 'provision', log),
      brokerId: `provision-${id}`,
    });
    shutdown.add(() => provisionBroker.close());
    bridgeProvisionMessagesToStream(provisionBroker.aedes, {
      redis,
      redisKeyPrefix: config.redisKeyPrefix,
      provisioningAccount: config.provisioningAccount,
      maxLength: config.provisionStreamMaxLength,
      perClientPerSecond: config.provisionMessageBurst,
      log: log.child({ component: 'provision-stream' }),
    });
    const accountBroker = await startAccountBroker({
      config,
      store,
      serverCredentials: ca.serverCredentials,
      clientCaPems: ca.clientCaPems,
      log,
      backends: brokerBackends(config, 'account', log),
      brokerId: `account-${id}`,
      onDeviceDisconnected: (account, clientId) => void recordDeviceOffline(store, log, account, clientId, `account-${id}`),
      // CERT-V1: the first CONNECT with a renewed certificate revokes the one it renews, on every broker (`sessions` is set below, before any device gets that far).
      onRenewedCertificateUsed: (certificate) => settleRenewal({ store, sessions, log }, certificate, 'first-connect'),
    });
    shutdown.add(() => accountBroker.close());
    const local = localSessionEnder([provisionBroker.sessions, accountBroker.sessions]);
    const notices = followSessionEnds({
      redis: noticeRedis,
      redisKeyPrefix: config.redisKeyPrefix,
      from: noticesFrom,
      apply: (notice) => local.endSessions(notice),
      onGap: async () => {
        await Promise.all([provisionBroker.sessions.endAll(), accountBroker.sessions.endAll()]);
      },
      log: log.child({ component: 'session-end-stream' }),
    });
    shutdown.add(() => notices.close());
    // The birth handler revokes nothing today; should it, the notice must reach every broker.
    const sessions = sessionEndPublisher({ redis, redisKeyPrefix: config.redisKeyPrefix, maxLength: config.sessionEndStreamMaxLength });
    const deps = await provisionerDependencies(config, store, ca, log, { sessions, secrets });
    // Renewal of this process's own devices; renew now: every broker process hears every notice and tells the devices connected to it.
    const senders = await startAccountBrokerServices({
      config,
      brokerId: `account-${id}`,
      deps,
      ca,
      provisionBroker,
      accountBroker,
      birthTransport: localPublishTransport(accountBroker.aedes),
      log,
      shutdown,
    });
    const renewNowNotices = await subscribeRenewNow({
      redis: serviceRedis(config, log),
      redisKeyPrefix: config.redisKeyPrefix,
      apply: (notice) => senders.renewNow.tellToRenew(notice),
      log: log.child({ component: 'renew-now-channel' }),
    });
    shutdown.add(() => renewNowNotices.close());
    const fleetUpdateNotices = await subscribeFleetUpdates(
      serviceRedis(config, log),
      config.redisKeyPrefix,
      (notice) => senders.fleetUpdates.tellToUpdate(notice),
      log.child({ component: 'fleet-update-channel' }),
    );
    shutdown.add(() => fleetUpdateNotices.close());
    return {
      endpoints: {
        provisionMqtts: provisionBroker.mqttsPort,
        ...(provisionBroker.mqttPort !== null ? { provisionMqtt: provisionBroker.mqttPort } : {}),
        accountMqtts: accountBroker.mqttsPort,
      },
      checks: [redisCheck(redis)],
      close: shutdown.run,
    };
  } catch (error) {
    await shutdown.run();
    throw error;
  }
});
