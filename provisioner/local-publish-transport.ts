import type { Aedes, AedesPublishPacket, Client } from 'aedes';
import { publishQos1 } from './aedes-transport.ts';
import type { MessageHandler, MessageOrigin, ProvisioningTransport } from './transport.ts';

/** MQTT topic filter match ('+' one level, '#' the rest). */
function matches(filter: string, topic: string): boolean {
  const filterLevels = filter.split('/');
  const topicLevels = topic.split('/');
  for (let i = 0; i < filterLevels.length; i += 1) {
    const level = filterLevels[i];
    if (level === '#') return true;
    if (i >= topicLevels.length) return false;
    if (level !== '+' && level !== topicLevels[i]) return false;
  }
  return filterLevels.length === topicLevels.length;
}

const overTls: MessageOrigin = Object.freeze({ secure: true });
const overPlainTcp: MessageOrigin = Object.freeze({ secure: false });

/** Whether the client's connection is TLS (a TLSSocket says `encrypted`). */
export function originOf(client: Client): MessageOrigin {
  return (client.conn as { encrypted?: boolean }).encrypted === true ? overTls : overPlainTcp;
}

/**
 * In-process transport that hears only what clients of THIS broker publish. In cluster mode every
 * broker process shares one topic space, so a subscription would hear every broker's messages
 * and each would be handled once per process; the 'publish' event with a client is local only.
 * Publishes go into the shared topic space like any other.
 */
export function localPublishTransport(broker: Aedes): ProvisioningTransport {
  let listener: ((packet: AedesPublishPacket, client: Client | null) => void) | null = null;
  return {
    async start(filters, handler: MessageHandler) {
      listener = (packet, client) => {
        if (!client || !filters.some((filter) => matches(filter, packet.topic))) return;
        void handler(packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload), originOf(client));
      };
      broker.on('publish', listener);
    },
    publish: (topic, payload) => publishQos1(broker, topic, payload),
    async close() {
      if (listener) broker.off('publish', listener);
      listener = null;
    },
  };
}
