import type { Socket } from 'node:net';
import type { Client } from 'aedes';

interface Pending {
  /** The TCP connection as accepted: destroying it ends the TLS socket and the MQTT client on it too. */
  readonly socket: Socket;
  readonly timer: NodeJS.Timeout;
  /** Set while a TLS connection waits for its handshake and MQTT client (attach). */
  tlsKey: string | null;
}

/**
 * The same for a TCP socket and the TLS socket made on it: the client's end of the connection,
 * unique among one listener's open connections but for a client that uses one source port towards
 * two of the server's addresses at once (only its own deadlines could then be confused). The local
 * end is left out: reading it would keep a cached address object on each socket for its lifetime.
 */
function connectionKey(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}

/**
 * One deadline per connection, from its TCP accept to its CONNECT answered: a TLS handshake, the
 * CONNECT packet and its authentication must all fit in `timeoutMs`, however slowly the client
 * sends its bytes (a ClientHello a byte at a time, a handshake without CONNECT). A connection
 * still without a CONNACK then is destroyed. A refused CONNECT closes the connection itself.
 *
 * aedes' own `connectTimeout` starts only once aedes is handed the socket (after the TLS
 * handshake) and stops at the CONNECT packet, before authentication; Node's TLS
 * `handshakeTimeout` covers the handshake alone. Neither bounds the whole.
 */
export class ConnectDeadlines {
  private readonly pending = new Map<Socket, Pending>();
  private readonly awaitingTls = new Map<string, Pending>();

  constructor(
    private readonly timeoutMs: number,
    /** Told of each connection closed for taking too long, just before it is destroyed. */
    private readonly onExpired: (socket: Socket) => void,
  ) {}

  /**
   * At TCP accept, before the socket is handed to aedes or to TLS: this deadline is then the first
   * to run out (aedes' `connectTimeout`, given the same value, starts later).
   */
  start(socket: Socket, tls: boolean): void {
    const timer = setTimeout(this.expire, this.timeoutMs, socket);
    timer.unref();
    const pending: Pending = { socket, timer, tlsKey: null };
    this.pending.set(socket, pending);
    if (tls) {
      pending.tlsKey = connectionKey(socket);
      this.awaitingTls.set(pending.tlsKey, pending);
    }
  }

  /** The MQTT client made on a started connection: on the TCP socket itself, or on its TLS socket once the handshake is done. */
  attach(socket: Socket, client: Client): void {
    let pending = this.pending.get(socket);
    if (!pending) {
      const key = connectionKey(socket);
      pending = this.awaitingTls.get(key);
      if (!pending) return;
      this.awaitingTls.delete(key);
      pending.tlsKey = null;
    }
    this.watch(pending.socket, client);
  }

  /** The TCP socket closed: its deadline goes with it. */
  closed(socket: Socket): void {
    this.settle(socket);
  }

  /** Clears every deadline (the listener is closing and destroys its sockets itself). */
  close(): void {
    for (const socket of [...this.pending.keys()]) this.settle(socket);
  }

  private watch(socket: Socket, client: Client): void {
    // aedes emits 'connected' on the client once its CONNACK 0 is written.
    if (client.connected) this.settle(socket);
    else client.once('connected', () => this.settle(socket));
  }

  private settle(socket: Socket): void {
    const pending = this.pending.get(socket);
    if (!pending) return;
    this.pending.delete(socket);
    clearTimeout(pending.timer);
    if (pending.tlsKey !== null) this.awaitingTls.delete(pending.tlsKey);
  }

  private readonly expire = (socket: Socket): void => {
    if (!this.pending.has(socket)) return;
    this.settle(socket);
    this.onExpired(socket);
    socket.destroy();
  };
}
