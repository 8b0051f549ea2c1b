import type { MqttClient } from 'mqtt';
import { encodeBirth } from '../protocol/messages.ts';
import { jobDeviceFilters } from '../protocol/jobs.ts';
import { renewalDeviceFilters } from '../protocol/renewal.ts';
import { birthTopic, configurationPushTopic } from '../protocol/topics.ts';
import type { DeviceState } from './device-state.ts';
import { trustedRootFingerprints } from './root-learning.ts';
import { answerWithin, connectWithin, dropConnection } from './mqtt-waits.ts';
import type { AgentSettings } from './settings.ts';

/** The error, its message saying it came from the account broker; a CONNACK code is kept in `code`. */
function fromAccountBroker(error: unknown): Error {
  const cause = error instanceof Error ? error : new Error(String(error));
  const code = (error as { code?: unknown }).code;
  return Object.assign(new Error(`account broker: ${cause.message}`, { cause }), code !== undefined ? { code } : {});
}

/**
 * The birth message (PROTOCOL.md §10) with the configuration hash the device runs and the roots it
 * trusts (`trust.roots`), its PUBACK awaited for `timeout`.
 */
export async function publishBirth(
  client: MqttClient,
  next: { readonly account: string; readonly clientId: string },
  settings: AgentSettings,
  configurationHash: string,
  trustedRoots: readonly string[],
): Promise<void> {
  const birth = client.publishAsync(
    birthTopic(next.account, next.clientId),
    encodeBirth({
      configurationHash,
      serial: settings.serial,
      ...(settings.model ? { model: settings.model } : {}),
      ...(settings.firmware ? { firmware: settings.firmware } : {}),
      trustedRoots,
    }),
    { qos: 1 },
  );
  await answerWithin(client, birth, 'PUBACK of the birth message', settings.timeout);
}

/**
 * Connects to the account broker with the certificate in use (mutual TLS), subscribes to the
 * CERT-V1 replies and renew-now commands, then publishes the birth message with the applied
 * configuration hash (PROTOCOL.md: nothing is published before those subscriptions). The caller
 * owns the returned client; `onConnected` sees it at CONNACK, before anything can arrive.
 * CONNACK, SUBACK and the birth's PUBACK are each awaited for `timeout` at most, and not past the
 * loss of the connection or `signal`; the error then says which, and the connection is dropped.
 */
export async function connectToAccountBroker(
  state: DeviceState,
  settings: AgentSettings,
  signal?: AbortSignal,
  onConnected?: (client: MqttClient) => void,
): Promise<MqttClient> {
  const [credentials, trustedRoots] = await Promise.all([state.accountCredentials(), state.trustedRoots()]);
  const { next } = credentials;
  const client = await connectWithin(
    next.brokerUrl,
    {
      clientId: next.clientId,
      clean: true,
      protocolVersion: 4,
      key: credentials.keyPem,
      cert: credentials.certPem,
      // Every root the device holds: during a root rollover the broker's certificate may chain to the new one.
      ca: [...trustedRoots],
    },
    settings.timeout,
    signal,
  ).catch((error: unknown) => {
    throw fromAccountBroker(error);
  });
  const onAbort = (): void => dropConnection(client);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    onConnected?.(client);
    const filters = [
      ...renewalDeviceFilters(next.account, next.clientId),
      configurationPushTopic(next.account, next.clientId),
      ...jobDeviceFilters(next.account, next.clientId),
    ];
    const granted = await answerWithin(
      client,
      client.subscribeAsync(filters, { qos: 1 }),
      'SUBACK of the CERT-V1, CONF-V1 and JOB-V1 subscriptions',
      settings.timeout,
    );
    if (granted.some((grant) => grant.qos === 128)) throw new Error(`subscription to ${filters.join(' and ')} refused`);
    await publishBirth(client, next, settings, credentials.configurationHash, await trustedRootFingerprints(state));
    return client;
  } catch (error) {
    dropConnection(client);
    throw fromAccountBroker(error);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
