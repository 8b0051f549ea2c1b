import type { TLSSocket } from 'node:tls';
import { Aedes } from 'aedes';
import type { PlatformConfig } from '../config/config.ts';
import { isPlatformError } from '../errors/platform-error.ts';
import type { Logger } from '../log/logger.ts';
import type { IssuedCertificate, ProvisionStore } from '../store/types.ts';
import { closeBrokerBackends, type BrokerBackends } from './shared-state.ts';
import { createAccountAuthenticator } from './account-authenticator.ts';
import { installBrokerHooks } from './aedes-hooks.ts';
import { releaseNumberCache } from './connection-footprint.ts';
import { retainedBoundsOf, type RetainedLimitSettingKey } from './retained-limits.ts';
import { listenMqtt, packetLimitFor, type MqttListener } from './listeners.ts';
import { SessionTerminator } from './session-terminator.ts';

export interface AccountBrokerOptions {
  readonly config: Pick<
    PlatformConfig,
    'bindHost' | 'accountMqttsPort' | 'maxMessageBytes' | 'mqttConnectionsPerAddress' | 'mqttConnectTimeoutMs' | RetainedLimitSettingKey
  >;
  readonly store: ProvisionStore;
  readonly serverCredentials: { readonly certPem: string; readonly keyPem: string };
  /** Issuing CA and root: client certificates must chain to them. */
  readonly clientCaPems: readonly string[];
  readonly log: Logger;
  /** Cluster mode: Redis persistence and shared emitter (broker/shared-state.ts); absent = in memory. */
  readonly backends?: BrokerBackends | null;
  /** Unique across the cluster (aedes keys wills and heartbeats by it). */
  readonly brokerId?: string;
  /** Told when an authenticated device's connection ends. */
  readonly onDeviceDisconnected?: (account: string, clientId: string) => void;
  /**
   * Told, before CONNACK, when a device connects with a renewed certificate whose renewal is not
   * settled yet (CERT-V1: the old certificate is revoked then). A failure is logged and the
   * CONNECT goes on: the certificate is valid, the next CONNECT or the grace sweep settles it.
   */
  readonly onRenewedCertificateUsed?: (certificate: IssuedCertificate) => Promise<void>;
}

export interface AccountBroker {
  readonly aedes: Aedes;
  readonly mqttsPort: number;
  /** Ends live sessions whose certificate was revoked or whose account was deleted. */
  readonly sessions: SessionTerminator;
  /** A reissued server certificate for new handshakes; open connections stay (listeners.ts). */
  setServerCredentials(credentials: { readonly certPem: string; readonly keyPem: string }): void;
  close(): Promise<void>;
}

/**
 * The account broker: the same broker code in its second role. Mutual TLS only: the handshake
 * refuses certificates that do not chain to our CA or are out of their validity; CONNECT refuses
 * revoked or unknown ones and a CN that is not the clientId (account-authenticator.ts).
 */
export async function startAccountBroker(options: AccountBrokerOptions): Promise<AccountBroker> {
  const log = options.log.child({ component: 'account-broker' });
  releaseNumberCache();
  const aedes = await Aedes.createBroker({
    id: options.brokerId ?? `account-${process.pid}`,
    connectTimeout: options.config.mqttConnectTimeoutMs,
    ...(options.backends ? { persistence: options.backends.persistence, mq: options.backends.mq } : {}),
  });
  const onRenewed = options.onRenewedCertificateUsed;
  const authenticateCertificate = createAccountAuthenticator(
    options.store,
    onRenewed
      ? (certificate) =>
          onRenewed(certificate).catch((error: unknown) =>
            log.warn({ err: error, clientId: certificate.clientId, serial: certificate.serial }, 'certificate renewal not settled at CONNECT'),
          )
      : undefined,
  );
  const principals = installBrokerHooks(aedes, {
    broker: 'account',
    maxMessageBytes: options.config.maxMessageBytes,
    retained: retainedBoundsOf(options.config),
    log,
    authenticate: async (attempt) => {
      try {
        return await authenticateCertificate({ clientId: attempt.clientId, socket: attempt.client.conn as TLSSocket });
      } catch (error) {
        const code = isPlatformError(error) ? error.code : 'INTERNAL';
        log.warn({ clientId: attempt.clientId, address: attempt.remoteAddress, code, reason: (error as Error).message }, 'CONNECT refused');
        throw error;
      }
    },
  });
  const sessions = new SessionTerminator({ broker: 'account', aedes, principals, store: options.store, log });
  aedes.on('clientDisconnect', (client) => {
    const principal = principals.get(client);
    if (principal?.kind === 'device') options.onDeviceDisconnected?.(principal.account, principal.clientId);
  });
  aedes.on('clientError', (client, error) => log.debug({ clientId: client.id, err: error.message }, 'client error'));

  let listener: MqttListener | null = null;
  try {
    listener = await listenMqtt(aedes, {
      host: options.config.bindHost,
      port: options.config.accountMqttsPort,
      tls: {
        cert: options.serverCredentials.certPem,
        key: options.serverCredentials.keyPem,
        ca: [...options.clientCaPems],
        requestCert: true,
        rejectUnauthorized: true,
      },
      // Issue 7: close connections announcing packets aedes would otherwise buffer whole (listeners.ts).
      maxPacketBytes: packetLimitFor(options.config.maxMessageBytes),
      limits: { perAddress: options.config.mqttConnectionsPerAddress, connectTimeoutMs: options.config.mqttConnectTimeoutMs, log }, // issue 12 §3
      onOversizedPacket: (announcedBytes, address) => log.warn({ address, announcedBytes }, 'connection closed: MQTT packet over the size limit'),
      onTlsClientError: (error, address) =>
        log.warn({ address, reason: error.message }, 'TLS handshake refused (client certificate missing, foreign, expired or invalid)'),
    });
  } catch (error) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await closeBrokerBackends(options.backends);
    throw error;
  }
  const tlsListener = listener;
  return {
    aedes,
    mqttsPort: tlsListener.port,
    sessions,
    setServerCredentials: (credentials) => tlsListener.setServerCertificate(credentials.certPem, credentials.keyPem),
    close: async () => {
      await tlsListener.close();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await closeBrokerBackends(options.backends);
    },
  };
}
