/**
 * What the agent-sim zero-touch tests stand in for the platform with (test/agent-sim-zero-touch*.test.ts):
 * real certificates made by openssl (a platform root with a localhost server certificate, a
 * manufacturer CA and its factory certificates), a cloud discovery server over mutual TLS, and a
 * provision broker that records each CONNECT (clientId, user name, password, client certificate)
 * and answers it with a chosen CONNACK. Real sockets, real TLS, real MQTT packets.
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { readFile, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import mqttPacket, { type IConnectPacket, type Packet } from 'mqtt-packet';
import { openssl } from './ca-test-kit.ts';

export interface PemFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
  readonly keyPem: string;
}

function run(args: readonly string[]): void {
  const result = openssl(args);
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${result.stderr}`);
}

const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

async function pemFiles(certFile: string, keyFile: string): Promise<PemFiles> {
  return { certFile, keyFile, certPem: await readFile(certFile, 'utf8'), keyPem: await readFile(keyFile, 'utf8') };
}

/** A self-signed CA certificate and key, DIR/{name}.pem and DIR/{name}.key. */
export async function makeCa(directory: string, name: string): Promise<PemFiles> {
  const certFile = join(directory, `${name}.pem`);
  const keyFile = join(directory, `${name}.key`);
  run([
    'req',
    '-x509',
    '-new',
    ...ecKey,
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-subj',
    `/CN=${name}`,
    '-days',
    '2',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return pemFiles(certFile, keyFile);
}

/**
 * A certificate `ca` signs for `subject` (openssl -subj form: '/CN=a', '/CN=a/CN=b', '/O=x'), with
 * `extensions` (openssl extfile lines), written as DIR/{file}.crt (or .pem) and DIR/{file}.key.
 */
export async function issue(
  directory: string,
  ca: PemFiles,
  subject: string,
  file: string,
  extensions: readonly string[],
  certExtension = 'crt',
): Promise<PemFiles> {
  const certFile = join(directory, `${file}.${certExtension}`);
  const keyFile = join(directory, `${file}.key`);
  const csrFile = join(directory, `${file}.csr`);
  const extFile = join(directory, `${file}.ext`);
  await writeFile(extFile, `${extensions.join('\n')}\n`);
  run(['req', '-new', ...ecKey, '-keyout', keyFile, '-out', csrFile, '-subj', subject]);
  run([
    'x509',
    '-req',
    '-in',
    csrFile,
    '-CA',
    ca.certFile,
    '-CAkey',
    ca.keyFile,
    '-set_serial',
    `0x${randomBytes(8).toString('hex')}`,
    '-days',
    '1',
    '-out',
    certFile,
    '-extfile',
    extFile,
  ]);
  return pemFiles(certFile, keyFile);
}

/** A factory certificate of the manufacturer CA: what a device leaves the factory with. */
export function factoryCertificate(directory: string, manufacturer: PemFiles, subject: string, file: string): Promise<PemFiles> {
  return issue(directory, manufacturer, subject, file, [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=clientAuth',
  ]);
}

/** The platform's side: its root (the devices' --root-ca), a localhost server certificate, and a manufacturer CA. */
export interface TestPki {
  readonly root: PemFiles;
  readonly server: PemFiles;
  readonly manufacturer: PemFiles;
}

export async function makePki(directory: string): Promise<TestPki> {
  const root = await makeCa(directory, 'platform-root');
  const server = await issue(directory, root, '/CN=localhost', 'server', [
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
    'extendedKeyUsage=serverAuth',
    'basicConstraints=critical,CA:FALSE',
  ]);
  return { root, server, manufacturer: await makeCa(directory, 'manufacturer-ca') };
}

/** The client certificate a TLS socket received, or null. */
function peerCertificate(socket: TLSSocket): X509Certificate | null {
  const peer = socket.getPeerX509Certificate();
  return peer ?? null;
}

/** One request discovery received: the client certificate's CN (null: none presented). */
export interface DiscoveryCall {
  readonly commonName: string | null;
  readonly issuedByManufacturer: boolean;
}

export interface DiscoveryAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

export interface TestDiscovery {
  readonly url: string;
  readonly calls: DiscoveryCall[];
  /**
   * What a request with a client certificate is answered; default: a certificate of the
   * manufacturer CA gets a `provision` assignment to provisionBrokerUrl() (group line-3, account
   * acme), any other 403 CERTIFICATE_INVALID.
   */
  respond: (call: DiscoveryCall) => DiscoveryAnswer;
  close(): Promise<void>;
}

/** "CN=a" of an X509Certificate subject (one CN, as the test certificates have). */
function commonNameOf(certificate: X509Certificate): string | null {
  const commonName: unknown = certificate.toLegacyObject().subject?.CN;
  return typeof commonName === 'string' ? commonName : null;
}

/** The problem+json answer the platform gives (api/problem.ts). */
export function problem(status: number, code: string, detail: string): DiscoveryAnswer {
  return { status, body: { type: `https://provisio.dev/errors/${code}`, title: code.toLowerCase(), status, code, detail } };
}

/**
 * Cloud discovery over mutual TLS on 127.0.0.1 (GET /discovery/v1/assignment): another path → 404,
 * no certificate → 401, else what `respond` says.
 */
export async function startDiscovery(pki: TestPki, provisionBrokerUrl: () => string): Promise<TestDiscovery> {
  const manufacturer = new X509Certificate(pki.manufacturer.certPem);
  const calls: DiscoveryCall[] = [];
  const discovery: TestDiscovery = {
    url: '',
    calls,
    respond: (call) =>
      call.issuedByManufacturer
        ? {
            status: 200,
            body: {
              clientId: call.commonName,
              kind: 'provision',
              brokerUrl: provisionBrokerUrl(),
              account: 'acme',
              enrollmentGroup: { id: 'g-1', name: 'line-3' },
            },
          }
        : problem(403, 'CERTIFICATE_INVALID', 'not signed by a registered manufacturer CA'),
    close: async () => undefined,
  };
  const server: HttpsServer = createHttpsServer(
    { key: pki.server.keyPem, cert: pki.server.certPem, requestCert: true, rejectUnauthorized: false },
    (request: IncomingMessage, response: ServerResponse) => {
      const peer = peerCertificate(request.socket as TLSSocket);
      const call = {
        commonName: peer ? commonNameOf(peer) : null,
        issuedByManufacturer: peer !== null && peer.checkIssued(manufacturer) && peer.verify(manufacturer.publicKey),
      };
      calls.push(call);
      const answer =
        request.url !== '/discovery/v1/assignment'
          ? problem(404, 'NOT_FOUND', request.url ?? '')
          : !peer
            ? problem(401, 'CERTIFICATE_REQUIRED', 'no client certificate')
            : discovery.respond(call);
      response.writeHead(answer.status, { 'content-type': answer.status === 200 ? 'application/json' : 'application/problem+json', ...answer.headers });
      response.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(discovery, {
    url: `https://localhost:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

/** One CONNECT the provision broker received, and the client certificate of its TLS connection. */
export interface ConnectSeen {
  readonly clientId: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly certificateCommonName: string | null;
}

export interface TestProvisionBroker {
  readonly url: string;
  readonly connects: ConnectSeen[];
  /** The CONNACK return code answered (default 5: not authorized, which ends an agent-sim attempt at once). */
  returnCode: number;
  close(): Promise<void>;
}

/** An mqtts listener asking for a client certificate (as the platform's provision broker does, PROTOCOL.md §17) that refuses every CONNECT. */
export async function startProvisionBroker(pki: TestPki): Promise<TestProvisionBroker> {
  const connects: ConnectSeen[] = [];
  const sockets = new Set<TLSSocket>();
  const broker: TestProvisionBroker = { url: '', connects, returnCode: 5, close: async () => undefined };
  const server = createTlsServer({ key: pki.server.keyPem, cert: pki.server.certPem, requestCert: true, rejectUnauthorized: false }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const parser = mqttPacket.parser();
    parser.on('packet', (packet: Packet) => {
      if (packet.cmd !== 'connect') return;
      const connect = packet as IConnectPacket;
      const peer = peerCertificate(socket);
      connects.push({
        clientId: connect.clientId,
        username: connect.username,
        password: connect.password?.toString('utf8'),
        certificateCommonName: peer ? commonNameOf(peer) : null,
      });
      socket.end(mqttPacket.generate({ cmd: 'connack', returnCode: broker.returnCode, sessionPresent: false }));
    });
    socket.on('data', (chunk: Buffer) => parser.parse(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(broker, {
    url: `mqtts://localhost:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  });
}
