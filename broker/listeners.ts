import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions, type TLSSocket } from 'node:tls';
import type { Aedes } from 'aedes';
import { BurstLog } from './burst-log.ts';
import { ConnectDeadlines } from './connect-deadline.ts';
import { AddressConnectionCounts, addressKeyOf, type ConnectionLimits } from './connection-limits.ts';
import { slimParser } from './connection-footprint.ts';
import { handOverOnFirstBytes } from './tls-first-bytes.ts';

export interface MqttListener {
  readonly port: number;
  readonly transport: 'tcp' | 'tls';
  /**
   * A TLS listener's new server certificate and key (tls.Server.setSecureContext): handshakes from
   * now on present it, open connections stay as they are. Nothing on plain TCP.
   */
  setServerCertificate(cert: string, key: string): void;
  close(): Promise<void>;
}

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  /** Absent: plain TCP. */
  readonly tls?: TlsOptions;
  /** Called for each TLS socket before it is handed to the broker; false drops it. */
  readonly acceptTlsSocket?: (socket: TLSSocket) => boolean;
  /** Told of each failed TLS handshake (by default they are dropped quietly). */
  readonly onTlsClientError?: (error: Error, remoteAddress: string | undefined) => void;
  /**
   * Largest MQTT packet (its "remaining length") a client may announce; the connection is closed
   * as soon as a header announces more. Default: room for a 64 KiB payload (packetLimitFor).
   */
  readonly maxPacketBytes?: number;
  /** Told of each connection closed for announcing an oversized packet. */
  readonly onOversizedPacket?: (announcedBytes: number, remoteAddress: string | undefined) => void;
  /** Connections per source address and the time to CONNECT (issue 12 §3); no listener goes without. */
  readonly limits: ConnectionLimits;
}

/**
 * The packet size to allow for a payload limit: the payload, plus the largest topic (65,535 bytes
 * and its 2-byte length) and a packet id. Other packets (CONNECT, SUBSCRIBE) are far smaller.
 */
export function packetLimitFor(maxMessageBytes: number): number {
  return maxMessageBytes + 65_535 + 2 + 2;
}

/**
 * Security fix (issue 7, found by test/fuzz-mqtt.test.ts): aedes has no packet size limit and its
 * parser (mqtt-packet) buffers a packet until all the bytes its header announces have come, up to
 * 256 MiB per connection, before authentication or authorizePublish see it. This follows the
 * packet framing (fixed header byte, variable-length remaining length, body) of the bytes aedes
 * reads and destroys the socket when a header announces more than `maxPacketBytes`.
 *
 * It listens to 'data' after aedes has attached its 'readable' listener: 'readable' keeps control
 * of the flow, and 'data' is emitted with each chunk aedes reads, just before aedes parses it.
 *
 * Upstream (aedes issue #831, open): a `maxPacketSize` option for aedes, enforced by mqtt-packet's
 * parser, would replace this guard. The design, measured effect, tests and what goes here once it
 * lands are in docs/upstream/aedes-max-packet-size.md.
 */
function guardPacketSize(socket: Socket, maxPacketBytes: number, onOversized?: ListenOptions['onOversizedPacket']): void {
  let state: 'type' | 'length' | 'body' = 'type';
  let length = 0;
  let multiplier = 1;
  let lengthBytes = 0;
  let bodyLeft = 0;
  socket.on('data', (chunk: Buffer) => {
    let position = 0;
    while (position < chunk.length) {
      if (state === 'type') {
        position += 1;
        state = 'length';
        length = 0;
        multiplier = 1;
        lengthBytes = 0;
      } else if (state === 'length') {
        const byte = chunk[position]!;
        position += 1;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        lengthBytes += 1;
        if (length > maxPacketBytes || (byte & 0x80 && lengthBytes >= 4)) {
          onOversized?.(length, socket.remoteAddress);
          socket.destroy();
          return;
        }
        if ((byte & 0x80) === 0) {
          bodyLeft = length;
          state = bodyLeft > 0 ? 'body' : 'type';
        }
      } else {
        const take = Math.min(bodyLeft, chunk.length - position);
        position += take;
        bodyLeft -= take;
        if (bodyLeft === 0) state = 'type';
      }
    }
  });
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

/**
 * An MQTT listener feeding aedes. noDelay on every socket: Nagle's algorithm would hold each small
 * reply back by about 40 ms.
 *
 * Before aedes sees a connection: one source address holds at most `limits.perAddress` open
 * connections here (the next is destroyed at once), and every connection must have its CONNECT
 * answered within `limits.connectTimeoutMs` of its TCP accept, TLS handshake included
 * (connect-deadline.ts). Both are logged once per burst and address, not per socket.
 */
export async function listenMqtt(broker: Aedes, options: ListenOptions): Promise<MqttListener> {
  const maxPacketBytes = options.maxPacketBytes ?? packetLimitFor(64 * 1024);
  const { limits } = options;
  const transport = options.tls ? 'tls' : 'tcp';
  const perAddress = new AddressConnectionCounts(limits.perAddress);
  const refusals = new BurstLog(limits.log, 'connection refused: too many open connections from this address');
  const expiries = new BurstLog(limits.log, 'connection closed: no CONNECT answered in time');
  const deadlines = new ConnectDeadlines(limits.connectTimeoutMs, (socket) => {
    const address = addressKeyOf(socket.remoteAddress);
    expiries.note(address, { address, transport, port: socket.localPort, timeoutMs: limits.connectTimeoutMs });
  });
  /** Each open socket and the address it is counted against. */
  const sockets = new Map<Socket, string>();
  // One listener shared by every socket rather than a closure (and a once() wrapper) per socket.
  function untrack(this: Socket): void {
    const address = sockets.get(this);
    if (address === undefined) return;
    sockets.delete(this);
    perAddress.closed(address);
    deadlines.closed(this);
  }
  /** Counts the socket against its address, or destroys it at once when the address holds its limit. */
  const admit = (socket: Socket): boolean => {
    const address = addressKeyOf(socket.remoteAddress);
    if (!perAddress.tryOpen(address)) {
      refusals.note(address, { address, transport, port: socket.localPort, limit: limits.perAddress });
      socket.destroy();
      return false;
    }
    sockets.set(socket, address);
    socket.on('close', untrack);
    return true;
  };
  let server: Server;
  let setServerCertificate: MqttListener['setServerCertificate'] = () => undefined;
  if (options.tls) {
    // Not listening itself: the TCP listener below hands it each connection (tls-first-bytes.ts).
    // Node's own handshake timer never fires first: the connection's deadline started earlier.
    const tlsServer = createTlsServer({ minVersion: 'TLSv1.2', handshakeTimeout: limits.connectTimeoutMs, ...options.tls }, (socket) => {
      socket.setNoDelay(true);
      if (options.acceptTlsSocket && !options.acceptTlsSocket(socket)) {
        socket.destroy();
        return;
      }
      const client = broker.handle(socket);
      deadlines.attach(socket, client);
      slimParser(client);
      guardPacketSize(socket, maxPacketBytes, options.onOversizedPacket); // after handle: see guardPacketSize
    });
    // Failed handshakes (plain MQTT on the TLS port, scanners) are routine: drop them quietly.
    tlsServer.on('tlsClientError', (error, socket) => {
      options.onTlsClientError?.(error, socket.remoteAddress);
      socket.destroy();
    });
    const contextOptions = { minVersion: 'TLSv1.2' as const, ...options.tls };
    setServerCertificate = (cert, key) => tlsServer.setSecureContext({ ...contextOptions, cert, key });
    server = createTcpServer({ noDelay: true }, (socket) => {
      if (!admit(socket)) return;
      deadlines.start(socket, true);
      handOverOnFirstBytes(tlsServer, socket);
    });
  } else {
    server = createTcpServer({ noDelay: true }, (socket) => {
      if (!admit(socket)) return;
      deadlines.start(socket, false);
      const client = broker.handle(socket);
      deadlines.attach(socket, client);
      slimParser(client);
      guardPacketSize(socket, maxPacketBytes, options.onOversizedPacket); // after handle: see guardPacketSize
    });
  }
  const port = await listen(server, options.host, options.port);
  return {
    port,
    transport,
    setServerCertificate,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        deadlines.close();
        refusals.close();
        expiries.close();
        for (const socket of sockets.keys()) socket.destroy();
      }),
  };
}
