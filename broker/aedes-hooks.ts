import type { Aedes, AuthenticateError, Client } from 'aedes';
import type { Logger } from '../log/logger.ts';
import { isPlatformError } from '../errors/platform-error.ts';
import { brokerConnectsAccepted, brokerConnectsRefused, countConnectedClients, type BrokerName } from '../metrics/metrics.ts';
import { forgetConnectPacket } from './connection-footprint.ts';
import { RetainedLedger, type RetainedPolicy, type RetainedSource } from './retained-limits.ts';
import { mayPublish, maySubscribe, type BrokerPrincipal } from './topic-acl.ts';

export interface ConnectingClient {
  readonly clientId: string;
  readonly username: string | undefined;
  readonly password: Buffer | undefined;
  readonly remoteAddress: string;
  readonly client: Client;
}

export interface BrokerHookOptions<P extends BrokerPrincipal = BrokerPrincipal> {
  /** The `broker` label of its metrics (metrics/metrics.ts). */
  readonly broker: BrokerName;
  readonly authenticate: (attempt: ConnectingClient) => Promise<P>;
  readonly maxMessageBytes: number;
  /** 'refuse': every retained PUBLISH closes the connection; bounds: per device and in total (retained-limits.ts). */
  readonly retained: RetainedPolicy;
  readonly log: Logger;
}

/** What each connected client was authenticated as; hooks only ask it questions. */
export class PrincipalRegistry<P extends BrokerPrincipal = BrokerPrincipal> {
  private readonly principals = new WeakMap<Client, { readonly principal: P; readonly checkedAt: number }>();
  set(client: Client, principal: P, checkedAt: number): void {
    this.principals.set(client, { principal, checkedAt });
  }
  get(client: Client | null): P | undefined {
    return client ? this.principals.get(client)?.principal : undefined;
  }
  /**
   * When its credentials were checked (performance.now() as authentication began): a revocation
   * received after that moment may have come too late for the check (broker/session-terminator.ts).
   */
  checkedAt(client: Client): number | undefined {
    return this.principals.get(client)?.checkedAt;
  }
}

/** A device's key in the retained ledger. */
function retainingKey(principal: { readonly account: string; readonly clientId: string }): string {
  return `${principal.account}/${principal.clientId}`;
}

function remoteAddressOf(client: Client): string {
  const socket = client.conn as { remoteAddress?: string };
  return socket.remoteAddress ?? 'unknown';
}

/**
 * Replaces every aedes hook: aedes lets everyone in and everything through by default.
 */
export function installBrokerHooks<P extends BrokerPrincipal>(broker: Aedes, options: BrokerHookOptions<P>): PrincipalRegistry<P> {
  const registry = new PrincipalRegistry<P>();
  const retainedLedger =
    options.retained === 'refuse' ? null : new RetainedLedger(options.retained, () => (broker as unknown as { persistence: RetainedSource }).persistence);
  // aedes replaces an empty clientId with a random one before authenticate runs; keep the one sent.
  const sentClientIds = new WeakMap<Client, string>();
  const accepted = brokerConnectsAccepted.labels(options.broker);
  broker.once(
    'closed',
    countConnectedClients(options.broker, () => broker.connectedClients),
  );

  broker.preConnect = (client, packet, callback) => {
    sentClientIds.set(client, packet.clientId ?? '');
    forgetConnectPacket(client, packet);
    callback(null, true);
  };

  broker.authenticate = (client, username, password, done) => {
    const checkedAt = performance.now();
    const clientId = sentClientIds.get(client) ?? '';
    sentClientIds.delete(client); // read once: not kept for the life of the connection
    const attempt: ConnectingClient = {
      clientId,
      username,
      password,
      remoteAddress: remoteAddressOf(client),
      client,
    };
    options.authenticate(attempt).then(
      (principal) => {
        registry.set(client, principal, checkedAt);
        accepted.inc();
        done(null, true);
      },
      (error: unknown) => {
        const returnCode = isPlatformError(error) ? error.connackCode : 3;
        if (!isPlatformError(error)) options.log.error({ err: error, clientId: attempt.clientId }, 'authentication failed unexpectedly');
        // A refusal the device cannot help (CONNACK 3) is the operator's business: say which.
        else if (returnCode === 3) options.log.warn({ clientId: attempt.clientId, code: error.code }, 'CONNECT refused: platform unavailable');
        const reason = isPlatformError(error) ? error.code : 'INTERNAL';
        brokerConnectsRefused.inc({ broker: options.broker, reason });
        const refusal = Object.assign(new Error(reason), { returnCode }) as AuthenticateError;
        done(refusal, false);
      },
    );
  };

  // A refused PUBLISH closes the connection: MQTT 3.1.1 has no negative acknowledgement [MQTT-3.3.5-2].
  broker.authorizePublish = (client, packet, callback) => {
    const principal = registry.get(client);
    if (!principal || !mayPublish(principal, packet.topic)) {
      options.log.info({ clientId: client?.id, topic: packet.topic }, 'publish refused: topic not authorized');
      callback(new Error('TOPIC_NOT_AUTHORIZED'));
      return;
    }
    if (packet.payload && packet.payload.length > options.maxMessageBytes) {
      options.log.info({ clientId: client?.id, size: packet.payload.length }, 'publish refused: payload too large');
      callback(new Error('PAYLOAD_TOO_LARGE'));
      return;
    }
    if (packet.retain) {
      authorizeRetained(client, principal, packet.topic, packet.payload?.length ?? 0, callback);
      return;
    }
    callback(null);
  };

  /**
   * Issue 12 §3: retained messages cost memory for as long as they are kept. Refused outright where
   * nothing reads them; within a device's bounds elsewhere. A will is checked here too (aedes asks
   * authorizePublish before publishing it): a refused will is dropped, the connection is gone anyway.
   */
  function authorizeRetained(
    client: Client | null,
    principal: BrokerPrincipal,
    topic: string,
    payloadBytes: number,
    callback: (error?: Error | null) => void,
  ): void {
    if (!retainedLedger) {
      options.log.info({ clientId: client?.id, topic }, 'publish refused: this broker keeps no retained messages');
      callback(new Error('RETAIN_NOT_ALLOWED'));
      return;
    }
    if (principal.kind !== 'device') {
      callback(null);
      return;
    }
    retainedLedger.admit({ key: retainingKey(principal), namespaces: principal.namespaces }, topic, payloadBytes).then(
      (refusal) => {
        if (refusal) {
          options.log.info({ clientId: client?.id, topic, size: payloadBytes, limit: refusal }, 'publish refused: retained messages over their limit');
          callback(new Error('RETAINED_LIMIT_REACHED'));
        } else {
          callback(null);
        }
      },
      (error: unknown) => {
        options.log.warn({ err: error, clientId: client?.id }, 'publish refused: retained messages could not be counted');
        callback(new Error('INTERNAL'));
      },
    );
  }
  if (retainedLedger) {
    broker.on('clientDisconnect', (client) => {
      const principal = registry.get(client);
      if (principal?.kind === 'device') retainedLedger.disconnected(retainingKey(principal));
    });
  }

  // A refused subscription is granted 0x80 (failure) in the SUBACK; the connection stays up.
  broker.authorizeSubscribe = (client, subscription, callback) => {
    const principal = registry.get(client);
    if (!principal || !maySubscribe(principal, subscription.topic)) {
      options.log.info({ clientId: client.id, filter: subscription.topic }, 'subscribe refused: topic not authorized');
      callback(null, null);
      return;
    }
    callback(null, subscription);
  };

  broker.authorizeForward = (_client, packet) => packet;

  return registry;
}
