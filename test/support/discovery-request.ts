import type { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';

/**
 * A device's request to the discovery service (docs/PROTOCOL.md §19) over real HTTPS: its client
 * certificate (or none), the server checked against the root and the host name localhost.
 */

export interface DiscoveryAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: Record<string, unknown>;
  /** The server certificate the handshake presented. */
  readonly server: X509Certificate;
}

export interface DiscoveryClientCredentials {
  readonly certPem: string;
  readonly keyPem: string;
}

/** GET over HTTPS, checking the server against `rootPem` and the host name localhost, as a device does. */
export function askDiscovery(
  port: number,
  rootPem: string,
  client: DiscoveryClientCredentials | null,
  path = '/discovery/v1/assignment',
): Promise<DiscoveryAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: '127.0.0.1',
        servername: 'localhost',
        port,
        path,
        method: 'GET',
        ca: rootPem,
        agent: false,
        ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
      },
      (response) => {
        const server = (response.socket as TLSSocket).getPeerX509Certificate();
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          if (!server) return reject(new Error('no server certificate'));
          resolve({
            status: response.statusCode ?? 0,
            contentType: String(response.headers['content-type']),
            body: JSON.parse(text) as Record<string, unknown>,
            server,
          });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end();
  });
}
