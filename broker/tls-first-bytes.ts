import type { Socket } from 'node:net';
import type { Server as TlsServer } from 'node:tls';

/**
 * Hands a plain TCP connection to a (not listening) TLS server once the client's first bytes, its
 * ClientHello, sit in the socket's read buffer; emitting 'connection' is how a socket is handed to
 * a server, and Node's TLS socket starts by feeding OpenSSL what the socket has buffered.
 *
 * Why (issue 6): when the TLS layer itself does the first read of a connection, Node sizes the
 * connection's encrypted-input buffer to that read (64 KiB) and keeps it as long as the connection
 * lives; fed the buffered ClientHello, it sizes it to the ClientHello (at least 1 KiB) and only
 * grows it for a client that sends more than that at once. About 5 KB less RSS per idle TLS
 * connection (npm run bench:idle); nothing else about TLS changes.
 *
 * A client that sends nothing is not waited for here: the connection's deadline, which runs from
 * its TCP accept to its CONNECT answered, destroys it (connect-deadline.ts, issue 12 §3).
 */
export function handOverOnFirstBytes(tlsServer: TlsServer, socket: Socket): void {
  const stopWaiting = (): void => {
    socket.off('error', onError);
    socket.off('close', stopWaiting);
  };
  const onError = (): void => {
    stopWaiting();
    socket.destroy();
  };
  socket.once('error', onError);
  socket.once('close', stopWaiting);
  socket.once('readable', () => {
    stopWaiting();
    if (socket.destroyed || socket.readableLength === 0) {
      socket.destroy(); // closed before saying anything
      return;
    }
    tlsServer.emit('connection', socket);
  });
}
