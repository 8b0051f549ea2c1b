import type { Aedes, AedesPublishPacket } from 'aedes';
import type { MessageHandler, ProvisioningTransport } from './transport.ts';

const unknownOrigin = Object.freeze({});

/** Publishes into a broker's topic space as the platform: QoS 1, not retained. */
export function publishQos1(broker: Aedes, topic: string, payload: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    broker.publish({ cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false }, (error) => (error ? reject(error) : resolve()));
  });
}

/**
 * In-process transport: subscribes on the broker itself, no socket or second parse in between.
 * A subscription does not see the publishing client, so the origin is unknown (not secure).
 */
export function aedesTransport(broker: Aedes): ProvisioningTransport {
  const subscriptions: { filter: string; deliver: (packet: AedesPublishPacket, callback: () => void) => void }[] = [];
  return {
    async start(filters, handler: MessageHandler) {
      for (const filter of filters) {
        const deliver = (packet: AedesPublishPacket, callback: () => void): void => {
          handler(packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload), unknownOrigin);
          callback();
        };
        await new Promise<void>((resolve) => broker.subscribe(filter, deliver, resolve));
        subscriptions.push({ filter, deliver });
      }
    },
    publish: (topic, payload) => publishQos1(broker, topic, payload),
    async close() {
      for (const { filter, deliver } of subscriptions.splice(0)) {
        await new Promise<void>((resolve) => broker.unsubscribe(filter, deliver, resolve));
      }
    },
  };
}
