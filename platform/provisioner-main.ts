/**
 * `npm run start:provisioner`: one provisioner worker of a cluster. Takes provision and
 * completion messages from the provision stream (consumer group), answers each through the
 * brokers' shared topic space, acknowledges it; claims what a dead worker left pending.
 * Run as many as needed: no listener but /healthz and /readyz.
 */
import { startReplyNode } from './reply-node.ts';
import { sessionEndPublisher } from '../cluster/session-end-stream.ts';
import { startProvisioner } from '../provisioner/provisioner.ts';
import { streamTransport } from '../provisioner/stream-transport.ts';
import { openStore } from '../store/open-store.ts';
import { openSharedCertificateAuthority } from './ca-lock.ts';
import { startLiveCertificateReissue } from './live-certificate-reissue.ts';
import { ShutdownSequence } from './shutdown-sequence.ts';
import { nodeId, redisCheck, runService, serviceRedis } from './cluster-runtime.ts';
import { provisionerDependencies } from './provisioner-deps.ts';
import { reportProvisionStreamDepth } from './stream-depth-metrics.ts';

await runService('provisioner', async (config, log) => {
  const shutdown = new ShutdownSequence(log);
  try {
    const store = await openStore(config);
    shutdown.add(() => store.close());
    const ca = await openSharedCertificateAuthority(config, log);
    const id = nodeId('provisioner');
    const replies = await startReplyNode(config, id, log);
    shutdown.add(() => replies.close());
    const streamRedis = serviceRedis(config, log);
    shutdown.add(async () => void streamRedis.disconnect());
    // Not the stream's connection: XREADGROUP … BLOCK would hold a notice back.
    const noticeRedis = serviceRedis(config, log);
    shutdown.add(async () => void noticeRedis.disconnect());
    const sessions = sessionEndPublisher({ redis: noticeRedis, redisKeyPrefix: config.redisKeyPrefix, maxLength: config.sessionEndStreamMaxLength });
    const deps = await provisionerDependencies(config, store, ca, log, { sessions });
    const transport = streamTransport({
      redis: streamRedis,
      redisKeyPrefix: config.redisKeyPrefix,
      consumerName: id,
      concurrency: config.provisionerConcurrency,
      claimIdleMs: config.provisionStreamClaimIdleMs,
      publish: (topic, payload) => replies.publish(topic, payload),
      log: log.child({ component: 'provision-stream' }),
    });
    const provisioner = await startProvisioner(deps, transport, { maxInFlight: config.provisionerConcurrency * 2 });
    shutdown.add(() => provisioner.close());
    // Its signing certificate near its end is reissued (under the CA lock) and signs the next reply; it serves no TLS.
    const reissue = startLiveCertificateReissue(config, ca, [], log);
    shutdown.add(() => reissue.close());
    // Checked on a connection of its own: the stream's is held by XREADGROUP … BLOCK for up to 2 s,
    // longer than the check waits for its PING.
    const checkRedis = serviceRedis(config, log);
    shutdown.add(async () => void checkRedis.disconnect());
    // The stream's depth at each scrape of /metrics, on the same free connection.
    const stopStreamDepth = reportProvisionStreamDepth(checkRedis, config.redisKeyPrefix);
    shutdown.add(async () => stopStreamDepth());
    return { endpoints: { consumer: id }, checks: [redisCheck(checkRedis)], close: shutdown.run };
  } catch (error) {
    await shutdown.run();
    throw error;
  }
});
