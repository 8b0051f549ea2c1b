import type { MqttClient } from 'mqtt';
import { configurationResultTopic, encodeConfigurationResult } from '../protocol/configuration.ts';
import { decodeConfigurationPush } from '../protocol/messages.ts';
import { configurationPushTopic } from '../protocol/topics.ts';
import type { DeviceState } from './device-state.ts';
import { answerWithin } from './mqtt-waits.ts';
import { UntrustedReplyError, verifyConfigurationPush, type TrustOptions } from './reply-verification.ts';

/** What a device reports of the configurations pushed to it, for the progress line and the tests. */
export type ConfigurationEvent = 'configuration-applied' | 'configuration-refused' | 'configuration-ignored';

/** The reason a device run with --refuse-configurations gives for every configuration. */
export const refuseConfigurationsReason = 'refused by --refuse-configurations';

export interface ConfigurationExchangeOptions {
  /** The checks of every signed body (§7): the held root, ca-authentication, the device's clientId. */
  readonly trust: Omit<TrustOptions, 'requestId'>;
  readonly account: string;
  /** Bounds each PUBACK. */
  readonly timeoutMs: number;
  /** Answer every configuration REFUSED with refuseConfigurationsReason, applying nothing (--refuse-configurations). */
  readonly refuseConfigurations?: boolean;
  /** Publishes a birth reporting this configuration hash (PROTOCOL.md §10), after a configuration is applied. */
  readonly publishBirth: (client: MqttClient, configurationHash: string) => Promise<void>;
  readonly onEvent?: (event: ConfigurationEvent, detail?: string) => void;
}

/**
 * The device side of CONF-V1 (docs/PROTOCOL.md §14): a push that passes §7's checks (and whose
 * content matches its sha256) is stored as the configuration the device runs, then answered
 * APPLIED with its hash, and a birth reports the new hash; with --refuse-configurations it is
 * answered REFUSED with the reason instead and nothing changes. A push that fails a check is
 * ignored (no answer: its request.id cannot be trusted). Pushes are handled one at a time, in
 * order of arrival; one that comes while the connection is gone is pushed again by the platform
 * after the next birth.
 */
export class ConfigurationExchange {
  private client: MqttClient | null = null;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly state: DeviceState,
    private readonly options: ConfigurationExchangeOptions,
  ) {}

  private get clientId(): string {
    return this.options.trust.clientId;
  }

  /** Takes over a new connection (subscribed to the push topic before its birth). */
  attach(client: MqttClient): void {
    this.client = client;
    const topic = configurationPushTopic(this.options.account, this.clientId);
    client.on('message', (received, payload) => {
      if (received === topic) this.receive(payload);
    });
  }

  /** A push as it arrived (from this connection, or recorded before attach). */
  receive(payload: Buffer): void {
    this.queue = this.queue
      .then(() => this.handle(payload))
      .catch((error: unknown) => this.options.onEvent?.('configuration-ignored', (error as Error).message));
  }

  /** Resolves once every push received so far is handled. */
  idle(): Promise<void> {
    return this.queue;
  }

  private async handle(payload: Buffer): Promise<void> {
    const emit = this.options.onEvent ?? (() => undefined);
    let requestId: string;
    let content: string;
    let sha256: string;
    try {
      const push = decodeConfigurationPush(payload);
      ({ content, sha256 } = verifyConfigurationPush(push, this.options.trust));
      requestId = push.requestId;
    } catch (error) {
      emit('configuration-ignored', `configuration push ignored: ${error instanceof UntrustedReplyError ? error.message : (error as Error).message}`);
      return;
    }
    const client = this.client;
    if (!client?.connected) return;
    if (this.options.refuseConfigurations) {
      await this.publish(
        client,
        encodeConfigurationResult({ requestId, result: 'REFUSED', configurationHash: sha256, errorMessage: refuseConfigurationsReason }),
      );
      emit('configuration-refused', sha256);
      return;
    }
    await this.state.saveConfiguration(content);
    await this.publish(client, encodeConfigurationResult({ requestId, result: 'APPLIED', configurationHash: sha256 }));
    await this.options.publishBirth(client, sha256);
    emit('configuration-applied', sha256);
  }

  private async publish(client: MqttClient, message: Buffer): Promise<void> {
    await answerWithin(
      client,
      client.publishAsync(configurationResultTopic(this.options.account, this.clientId), message, { qos: 1 }),
      'PUBACK of the configuration result',
      this.options.timeoutMs,
    );
  }
}
