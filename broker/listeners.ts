import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions, type TLSSocket } from 'node:tls';
import type { Aedes } from 'aedes';

export interface MqttListener {
  readonly port: number;
  readonly transport: 'tcp' | 'tls';
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
 */
export async function listenMqtt(broker: Aedes, options: ListenOptions): Promise<MqttListener> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  let server: Server;
  if (options.tls) {
    server = createTlsServer({ minVersion: 'TLSv1.2', ...options.tls }, (socket) => {
      socket.setNoDelay(true);
      if (options.acceptTlsSocket && !options.acceptTlsSocket(socket)) {
        socket.destroy();
        return;
      }
      broker.handle(socket);
    });
    server.on('connection', track);
    // Failed handshakes (plain MQTT on the TLS port, scanners) are routine: drop them quietly.
    server.on('tlsClientError', (error, socket) => {
      options.onTlsClientError?.(error, socket.remoteAddress);
      socket.destroy();
    });
  } else {
    server = createTcpServer({ noDelay: true }, (socket) => {
      track(socket);
      broker.handle(socket);
    });
  }
  const port = await listen(server, options.host, options.port);
  return {
    port,
    transport: options.tls ? 'tls' : 'tcp',
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
