import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { Aedes, type Client } from 'aedes';
import type { ProvisioningCodeKeys } from '../crypto/provisioning-code-hash.ts';
import type { PlatformConfig } from '../config/config.ts';
import type { Logger } from '../log/logger.ts';
import type { ProvisionStore } from '../store/types.ts';
import { closeBrokerBackends, type BrokerBackends } from './shared-state.ts';
import { installBrokerHooks } from './aedes-hooks.ts';
import { BruteForceGuard } from './brute-force-guard.ts';
import { CodeFailureBudget } from './code-failure-budget.ts';
import { TrustAnchorCache } from './factory-certificate-authenticator.ts';
import { releaseNumberCache } from './connection-footprint.ts';
import { listenMqtt, packetLimitFor, type MqttListener } from './listeners.ts';
import { createProvisionAuthenticator, type InternalCredentials } from './provision-authenticator.ts';
import { SessionTerminator } from './session-terminator.ts';

export interface ProvisionBrokerOptions {
  readonly config: Pick<
    PlatformConfig,
    | 'bindHost'
    | 'provisionMqttPort'
    | 'provisionMqttEnabled'
    | 'provisionMqttsPort'
    | 'provisioningAccount'
    | 'authFailureLimit'
    | 'authAddressFailureLimit'
    | 'authLockoutSeconds'
    | 'authFailureDelayMs'
    | 'maxMessageBytes'
    | 'mqttConnectionsPerAddress'
    | 'mqttConnectTimeoutMs'
    | 'provisioningCodeFailuresPerMinute'
    | 'requestDefaultValidityDays'
  >;
  readonly store: ProvisionStore;
  readonly serverCredentials: { readonly certPem: string; readonly keyPem: string };
  readonly internal: InternalCredentials;
  /** The provisioning code hash keys (crypto/provisioning-code-hash.ts provisioningCodeKeys of the device-key secret ring). */
  readonly codeKeys: ProvisioningCodeKeys;
  readonly log: Logger;
  /** Cluster mode: Redis persistence and shared emitter (broker/shared-state.ts); absent = in memory. */
  readonly backends?: BrokerBackends | null;
  /** Unique across the cluster (aedes keys wills and heartbeats by it). */
  readonly brokerId?: string;
  /** The clock of the brute-force guard and of the code failure budget, for tests that move lock-outs on without waiting; default Date.now. */
  readonly now?: () => number;
}

export interface ProvisionBroker {
  readonly aedes: Aedes;
  /** Port of the plain MQTT listener, or null in TLS-only mode. */
  readonly mqttPort: number | null;
  readonly mqttsPort: number;
  readonly guard: BruteForceGuard;
  /** Ends live sessions whose provision request was disabled or deleted, or whose account was deleted. */
  readonly sessions: SessionTerminator;
  /** A reissued server certificate for new handshakes; open connections stay (listeners.ts). */
  setServerCredentials(credentials: { readonly certPem: string; readonly keyPem: string }): void;
  close(): Promise<void>;
}

/**
 * The client certificate of a connection (a factory certificate), as the TLS handshake received
 * it: the TLS listener asks for one and lets connections without one in (password devices). The
 * X509Certificate TLS already holds, not getPeerCertificate() (broker/account-authenticator.ts).
 */
function peerCertificateOf(client: Client): X509Certificate | undefined {
  const socket = client.conn as Partial<TLSSocket>;
  return typeof socket.getPeerX509Certificate === 'function' ? socket.getPeerX509Certificate() : undefined;
}

/**
 * The provision broker: where devices holding a provision request, a factory certificate or a
 * provisioning code connect to ask for their identity.
 */
export async function startProvisionBroker(options: ProvisionBrokerOptions): Promise<ProvisionBroker> {
  const { config, store, log } = options;
  const brokerLog = log.child({ component: 'provision-broker' });
  releaseNumberCache();
  const aedes = await Aedes.createBroker({
    id: options.brokerId ?? `provision-${process.pid}`,
    connectTimeout: config.mqttConnectTimeoutMs,
    ...(options.backends ? { persistence: options.backends.persistence, mq: options.backends.mq } : {}),
  });
  const guard = new BruteForceGuard({
    failureLimit: config.authFailureLimit,
    addressFailureLimit: config.authAddressFailureLimit,
    lockoutMs: config.authLockoutSeconds * 1000,
    baseDelayMs: config.authFailureDelayMs,
    now: options.now ?? Date.now,
  });
  const trustAnchors = new TrustAnchorCache(store, Date.now);
  const authenticate = createProvisionAuthenticator({
    store,
    provisioningAccount: config.provisioningAccount,
    internal: options.internal,
    guard,
    enrollment: {
      codeKeys: options.codeKeys,
      // A bound on guessing like the guard, on the guard's clock.
      codeFailures: new CodeFailureBudget(config.provisioningCodeFailuresPerMinute, options.now ?? Date.now),
      requestDefaultValidityDays: config.requestDefaultValidityDays,
      trustAnchors,
    },
    onRefused: (attempt, error, reason) => {
      brokerLog.info({ clientId: attempt.clientId, address: attempt.remoteAddress, code: error.code, connack: error.connackCode, reason }, 'CONNECT refused');
      store
        .appendAudit({
          type: 'connect.refused',
          outcome: 'failure',
          actor: attempt.clientId || '(empty)',
          accountId: null,
          clientId: attempt.clientId || null,
          provisionRequestId: null,
          detail: { broker: 'provision', address: attempt.remoteAddress, code: error.code, reason },
        })
        .catch((auditError: unknown) => brokerLog.warn({ err: auditError }, 'audit event not written'));
    },
  });
  const principals = installBrokerHooks(aedes, {
    broker: 'provision',
    authenticate: (attempt) => authenticate({ ...attempt, peerCertificate: () => peerCertificateOf(attempt.client) }),
    maxMessageBytes: config.maxMessageBytes,
    retained: 'refuse',
    log: brokerLog,
  });
  const sessions = new SessionTerminator({
    broker: 'provision',
    aedes,
    principals,
    store,
    log: brokerLog,
    // A CA disabled or deleted: the next factory CONNECT must not be admitted by the list kept here.
    onNotice: (notice) => {
      if (notice.kind === 'manufacturer-ca') trustAnchors.forget();
    },
  });
  aedes.on('clientError', (client, error) => brokerLog.debug({ clientId: client.id, err: error.message }, 'client error'));

  const listeners: MqttListener[] = [];
  // Issue 7: close connections announcing packets aedes would otherwise buffer whole (listeners.ts).
  const packetGuard = {
    maxPacketBytes: packetLimitFor(config.maxMessageBytes),
    onOversizedPacket: (announcedBytes: number, address: string | undefined) =>
      brokerLog.warn({ address, announcedBytes }, 'connection closed: MQTT packet over the size limit'),
    limits: { perAddress: config.mqttConnectionsPerAddress, connectTimeoutMs: config.mqttConnectTimeoutMs, log: brokerLog }, // issue 12 §3
  };
  try {
    const tlsListener = await listenMqtt(aedes, {
      host: config.bindHost,
      port: config.provisionMqttsPort,
      // A client certificate is asked for (factory certificates, docs/PROTOCOL.md §17) and checked in
      // code, not by TLS: devices with a password connect without one.
      tls: { cert: options.serverCredentials.certPem, key: options.serverCredentials.keyPem, requestCert: true, rejectUnauthorized: false },
      ...packetGuard,
    });
    listeners.push(tlsListener);
    let mqttPort: number | null = null;
    if (config.provisionMqttEnabled) {
      const tcpListener = await listenMqtt(aedes, { host: config.bindHost, port: config.provisionMqttPort, ...packetGuard });
      listeners.push(tcpListener);
      mqttPort = tcpListener.port;
    }
    return {
      aedes,
      mqttPort,
      mqttsPort: tlsListener.port,
      guard,
      sessions,
      setServerCredentials: (credentials) => tlsListener.setServerCertificate(credentials.certPem, credentials.keyPem),
      close: async () => {
        await Promise.all(listeners.map((listener) => listener.close()));
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
        await closeBrokerBackends(options.backends);
      },
    };
  } catch (error) {
    await Promise.all(listeners.map((listener) => listener.close()));
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await closeBrokerBackends(options.backends);
    throw error;
  }
}
