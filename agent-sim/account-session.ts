import { connectAsync, type MqttClient } from 'mqtt';
import { encodeBirth } from '../protocol/messages.ts';
import { birthTopic } from '../protocol/topics.ts';
import type { DeviceState } from './device-state.ts';
import type { AgentSettings } from './settings.ts';

/**
 * Connects to the account broker with the certificate received (mutual TLS) and publishes the
 * birth message with the applied configuration hash. The caller owns the returned client.
 */
export async function connectToAccountBroker(state: DeviceState, settings: AgentSettings): Promise<MqttClient> {
  const [credentials, trustedRootPem] = await Promise.all([state.accountCredentials(), state.trustedRoot()]);
  const { next } = credentials;
  const client = await connectAsync(next.brokerUrl, {
    clientId: next.clientId,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: settings.timeout,
    protocolVersion: 4,
    key: credentials.keyPem,
    cert: credentials.certPem,
    ca: trustedRootPem,
  }, false); // a connection closed before CONNACK rejects instead of waiting for ever
  await client.publishAsync(
    birthTopic(next.account, next.clientId),
    encodeBirth({
      configurationHash: credentials.configurationHash,
      serial: settings.serial,
      ...(settings.model ? { model: settings.model } : {}),
      ...(settings.firmware ? { firmware: settings.firmware } : {}),
    }),
    { qos: 1 },
  );
  return client;
}
