/**
 * The load client of the connect benchmarks: raw TCP/TLS sockets and hand-encoded packets, so
 * that nearly all of its cost is the kernel and TLS, the same for every broker it drives.
 */
import net from 'node:net';
import tls from 'node:tls';
import { connackReturnCode, disconnectPacket, encodeConnect } from './mqtt-wire.ts';

export interface BrokerTarget {
  readonly port: number;
  /** TLS: the root CA to check the server with; absent = plain TCP. */
  readonly tls?: { readonly ca: string };
}

export interface DeviceIdentity {
  readonly clientId: string;
  readonly username?: string;
  readonly password?: string;
  /** Client certificate and key (PEM) for mutual TLS. */
  readonly certPem?: string;
  readonly keyPem?: string;
}

const connectTimeoutMs = 20_000;

/**
 * One TLS context per CA (and client certificate): building a context parses the PEM, which would
 * otherwise cost the load client more than the handshake itself. Sessions are not reused: every
 * connect is a full handshake, as for a fleet of distinct devices.
 */
const contexts = new Map<string, tls.SecureContext>();

function secureContext(ca: string, identity: DeviceIdentity): tls.SecureContext {
  const key = `${ca}\0${identity.certPem ?? ''}`;
  let context = contexts.get(key);
  if (!context) {
    context = tls.createSecureContext({ ca, ...(identity.certPem && identity.keyPem ? { cert: identity.certPem, key: identity.keyPem } : {}) });
    // A device's context is used once: do not keep thousands of them.
    if (!identity.certPem) contexts.set(key, context);
  }
  return context;
}

function openSocket(target: BrokerTarget, identity: DeviceIdentity): net.Socket {
  if (!target.tls) return net.connect({ host: '127.0.0.1', port: target.port, noDelay: true });
  const socket = tls.connect({
    host: '127.0.0.1',
    port: target.port,
    servername: 'localhost',
    secureContext: secureContext(target.tls.ca, identity),
    // The chain is still verified against the CA; skipping the host-name check (which turns the
    // whole peer certificate into a JS object) keeps the client's share of the CPU down.
    checkServerIdentity: () => undefined,
  });
  socket.setNoDelay(true);
  return socket;
}

/** Connects and sends CONNECT; resolves with the socket once CONNACK 0 arrived. */
export function openSession(target: BrokerTarget, identity: DeviceIdentity, keepalive = 0): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = openSocket(target, identity);
    let received: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => fail(new Error('timeout waiting for CONNACK')), connectTimeoutMs);
    function fail(error: Error): void {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    }
    const onData = (chunk: Buffer): void => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      let code: number | undefined;
      try {
        code = connackReturnCode(received);
      } catch (error) {
        fail(error as Error);
        return;
      }
      if (code === undefined) return;
      if (code !== 0) {
        fail(new Error(`CONNACK ${code}`));
        return;
      }
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      // Idle sessions must not die of an unhandled error later.
      socket.on('error', () => {});
      resolve(socket);
    };
    const onError = (error: Error): void => fail(error);
    const onClose = (): void => fail(new Error('closed before CONNACK'));
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.write(
      encodeConnect({
        clientId: identity.clientId,
        ...(identity.username !== undefined ? { username: identity.username } : {}),
        ...(identity.password !== undefined ? { password: identity.password } : {}),
        keepalive,
        clean: true,
      }),
    );
  });
}

/** DISCONNECT, then wait for the broker to close the connection [MQTT-3.14.4-1]. */
export function closeSession(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) {
      resolve();
      return;
    }
    const timer = setTimeout(() => socket.destroy(), 5_000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.resume();
    socket.end(disconnectPacket);
  });
}

export interface ConnectLoadResult {
  readonly connects: number;
  readonly failures: number;
  readonly failuresByReason: Readonly<Record<string, number>>;
  readonly seconds: number;
  readonly perSecond: number;
}

/**
 * `count` CONNECT → CONNACK → DISCONNECT cycles, `concurrency` at a time, using the identities
 * in turn starting at `offset` (so that no two cycles share a clientId at the same time).
 */
export async function runConnectLoad(options: {
  readonly target: BrokerTarget;
  readonly identities: readonly DeviceIdentity[];
  readonly count: number;
  readonly concurrency: number;
  readonly offset?: number;
}): Promise<ConnectLoadResult> {
  const { identities, count } = options;
  let next = 0;
  let connects = 0;
  let failures = 0;
  const failuresByReason: Record<string, number> = {};
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      const identity = identities[((options.offset ?? 0) + index) % identities.length]!;
      try {
        const socket = await openSession(options.target, identity);
        connects += 1;
        await closeSession(socket);
      } catch (error) {
        failures += 1;
        const reason = (error as Error).message.slice(0, 80);
        failuresByReason[reason] = (failuresByReason[reason] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, count) }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { connects, failures, failuresByReason, seconds, perSecond: connects / seconds };
}

/** Opens one idle session per identity, `concurrency` handshakes at a time; failures are counted. */
export async function openIdleSessions(
  target: BrokerTarget,
  identities: readonly DeviceIdentity[],
  concurrency: number,
): Promise<{ sockets: net.Socket[]; failures: number; firstFailure: string | null }> {
  const sockets: net.Socket[] = [];
  let failures = 0;
  let firstFailure: string | null = null;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < identities.length) {
      const identity = identities[next++]!;
      try {
        sockets.push(await openSession(target, identity));
      } catch (error) {
        failures += 1;
        firstFailure ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, identities.length) }, worker));
  return { sockets, failures, firstFailure };
}

/** Closes idle sessions politely, `concurrency` at a time. */
export async function closeSessions(sockets: readonly net.Socket[], concurrency = 200): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < sockets.length) await closeSession(sockets[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, sockets.length) }, worker));
}
