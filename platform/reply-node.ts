import { Aedes } from 'aedes';
import { brokerBackends, closeBrokerBackends, type SharedStateConfig } from '../broker/shared-state.ts';
import type { Logger } from '../log/logger.ts';
import { publishQos1 } from '../provisioner/aedes-transport.ts';

export interface ReplyNode {
  /** QoS 1, not retained, into the provision brokers' shared topic space. */
  publish(topic: string, payload: Buffer): Promise<void>;
  close(): Promise<void>;
}

/**
 * How a provisioner worker answers devices in cluster mode: a headless aedes node (no listener,
 * no client) on the provision brokers' shared state. aedes.publish emits the reply through
 * mqemitter-redis to whichever broker holds the device, and queues it in Redis for a device with
 * a persistent session that is offline right now, exactly as a broker would.
 */
export async function startReplyNode(config: SharedStateConfig, brokerId: string, log: Logger): Promise<ReplyNode> {
  const backends = brokerBackends(config, 'provision', log);
  if (!backends) throw new Error('the reply node needs PROVISIO_BROKER_SHARED_STATE=redis');
  const aedes = await Aedes.createBroker({ id: brokerId, persistence: backends.persistence, mq: backends.mq });
  return {
    publish: (topic, payload) => publishQos1(aedes, topic, payload),
    async close() {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await closeBrokerBackends(backends);
    },
  };
}
