/**
 * `npm run start:provisioner`: one provisioner worker of a cluster. Takes provision and
 * completion messages from the provision stream (consumer group), answers each through the
 * brokers' shared topic space, acknowledges it; claims what a dead worker left pending.
 * Run as many as needed: no listener but /healthz and /readyz.
 */
import { startReplyNode } from '../cluster/reply-node.ts';
import { startProvisioner } from '../provisioner/provisioner.ts';
import { streamTransport } from '../provisioner/stream-transport.ts';
import { openStore } from '../store/open-store.ts';
import { openSharedCertificateAuthority } from './ca-lock.ts';
import { nodeId, redisCheck, runService, serviceRedis } from './cluster-runtime.ts';
import { provisionerDependencies } from './provisioner-deps.ts';

await runService('provisioner', async (config, log) => {
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse().splice(0)) await close().catch((error: unknown) => log.warn({ err: error }, 'error while stopping'));
  };
  try {
    const store = await openStore(config);
    closers.push(() => store.close());
    const ca = await openSharedCertificateAuthority(config, log);
    const id = nodeId('provisioner');
    const replies = await startReplyNode(config, id, log);
    closers.push(() => replies.close());
    const streamRedis = serviceRedis(config, log);
    closers.push(async () => void streamRedis.disconnect());
    const deps = await provisionerDependencies(config, store, ca, log);
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
    closers.push(() => provisioner.close());
    return { endpoints: { consumer: id }, checks: [redisCheck(streamRedis)], close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
});
