/**
 * The floor under any MQTT broker written for Node: a server that accepts a connection (TCP, or
 * TLS with the platform's server certificate), waits for the CONNECT, answers CONNACK 0 and
 * closes at the DISCONNECT. No parsing, no sessions, no authentication: what is left is Node's
 * socket, stream and TLS machinery, which no broker on Node can spend less than. connect-rate.ts
 * drives it beside provisio and mosquitto.
 *
 *   node --import tsx bench/support/floor-broker.ts CA_DIR   (prints "tcp=PORT tls=PORT")
 */
import { readFileSync } from 'node:fs';
import net, { type Socket } from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

const caDir = process.argv[2];
if (!caDir) throw new Error('usage: floor-broker.ts CA_DIR');

/** CONNACK, session not present, return code 0. */
const connack = Buffer.from([0x20, 0x02, 0x00, 0x00]);

function serve(socket: Socket): void {
  let answered = false;
  socket.on('data', () => {
    // The load client writes CONNECT, waits for CONNACK, then writes DISCONNECT.
    if (!answered) {
      answered = true;
      socket.write(connack);
    } else socket.end();
  });
  socket.on('error', () => socket.destroy());
}

const read = (name: string) => readFileSync(path.join(caDir, name), 'utf8');
const tcp = net.createServer(serve);
const secure = tls.createServer({ key: read('server.key.pem'), cert: read('server.cert.pem') + read('issuing-ca.cert.pem') }, serve);
secure.on('tlsClientError', () => {});

const listening = (server: net.Server) =>
  new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
const [tcpPort, tlsPort] = await Promise.all([listening(tcp), listening(secure)]);
process.stdout.write(`tcp=${tcpPort} tls=${tlsPort}\n`);
process.on('SIGTERM', () => process.exit(0));
