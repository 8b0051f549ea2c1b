import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import type { MessageHandler, ProvisioningTransport } from './transport.ts';

export interface MqttTransportOptions {
  readonly url: string;
  readonly username: string;
  readonly password: string;
  readonly clientId: string;
  /** CA certificate(s) for mqtts:// URLs. */
  readonly ca?: string;
}

/** The provisioner as an MQTT client of the provision broker, for workers in their own process. */
export function mqttTransport(options: MqttTransportOptions): ProvisioningTransport {
  let client: MqttClient | null = null;
  return {
    async start(filters, handler: MessageHandler) {
      const clientOptions: IClientOptions = {
        clientId: options.clientId,
        username: options.username,
        password: options.password,
        clean: true,
        reconnectPeriod: 1000,
        ...(options.ca ? { ca: options.ca } : {}),
      };
      client = await connectAsync(options.url, clientOptions);
      // A subscriber does not learn how the publisher connected: origin unknown (not secure).
      client.on('message', (topic, payload) => handler(topic, payload, {}));
      // clean sessions: after a reconnect the subscriptions must be made again.
      client.on('connect', () => {
        client?.subscribe([...filters], { qos: 1 });
      });
      await client.subscribeAsync([...filters], { qos: 1 });
    },
    async publish(topic, payload) {
      if (!client) throw new Error('transport not started');
      await client.publishAsync(topic, payload, { qos: 1 });
    },
    async close() {
      await client?.endAsync();
      client = null;
    },
  };
}
