import type { Aedes, AuthenticateError, Client } from 'aedes';
import type { Logger } from '../log/logger.ts';
import { isPlatformError } from '../errors/platform-error.ts';
import { forgetConnectPacket } from './connection-footprint.ts';
import { mayPublish, maySubscribe, type BrokerPrincipal } from './topic-acl.ts';

export interface ConnectingClient {
  readonly clientId: string;
  readonly username: string | undefined;
  readonly password: Buffer | undefined;
  readonly remoteAddress: string;
  readonly client: Client;
}

export interface BrokerHookOptions<P extends BrokerPrincipal = BrokerPrincipal> {
  readonly authenticate: (attempt: ConnectingClient) => Promise<P>;
  readonly maxMessageBytes: number;
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

function remoteAddressOf(client: Client): string {
  const socket = client.conn as { remoteAddress?: string };
  return socket.remoteAddress ?? 'unknown';
}

/**
 * Replaces every aedes hook: aedes lets everyone in and everything through by default.
 */
export function installBrokerHooks<P extends BrokerPrincipal>(broker: Aedes, options: BrokerHookOptions<P>): PrincipalRegistry<P> {
  const registry = new PrincipalRegistry<P>();
  // aedes replaces an empty clientId with a random one before authenticate runs; keep the one sent.
  const sentClientIds = new WeakMap<Client, string>();

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
        done(null, true);
      },
      (error: unknown) => {
        const returnCode = isPlatformError(error) ? error.connackCode : 3;
        if (!isPlatformError(error)) options.log.error({ err: error, clientId: attempt.clientId }, 'authentication failed unexpectedly');
        // A refusal the device cannot help (CONNACK 3) is the operator's business: say which.
        else if (returnCode === 3) options.log.warn({ clientId: attempt.clientId, code: error.code }, 'CONNECT refused: platform unavailable');
        const refusal = Object.assign(new Error(isPlatformError(error) ? error.code : 'INTERNAL'), { returnCode }) as AuthenticateError;
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
    callback(null);
  };

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
