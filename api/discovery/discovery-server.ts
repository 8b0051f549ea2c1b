/**
 * The discovery service (docs/PROTOCOL.md §19): an HTTPS listener with mutual TLS that answers
 * GET /discovery/v1/assignment from the client certificate alone. A plain request handler rather
 * than the admin API's express app: one route, no token, no body, and every other path refused.
 */
import type { X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { TlsCredentials } from '../../certs/certificate-authority.ts';
import { isPlatformError, PlatformError } from '../../errors/platform-error.ts';
import type { Logger } from '../../log/logger.ts';
import type { ProvisionStore } from '../../store/types.ts';
import { problemBody } from '../problem.ts';
import { answerDiscovery, type DiscoveryAnswer, type DiscoveryRules } from './discovery-answer.ts';

/** The one route. */
export const discoveryPath = '/discovery/v1/assignment';

/**
 * Bounds of a listener any device (and anyone else) may reach before it is known: small headers,
 * no body, short waits, a cap on open connections.
 */
const limits = {
  maxHeaderSize: 8 * 1024,
  handshakeTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
  maxConnections: 10_000,
  maxRequestsPerSocket: 100,
} as const;

export interface DiscoveryServerOptions extends DiscoveryRules {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /**
   * The brokers' server certificate and key in use now (CertificateAuthority.serverCredentials), read
   * as each connection arrives: when the certificate was reissued while running
   * (platform/live-certificate-reissue.ts), the listener takes the new one before that handshake
   * (setSecureContext: open connections stay), with nothing to register.
   */
  readonly credentials: () => TlsCredentials;
  readonly audit: Pick<ProvisionStore, 'appendAudit'>;
  readonly log: Logger;
}

export interface RunningDiscoveryServer {
  readonly server: Server;
  /** The bound port (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

function sendJson(response: ServerResponse, status: number, contentType: string, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': contentType,
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  });
  response.end(response.req.method === 'HEAD' ? undefined : text);
}

/** The catalogue's problem body (api/problem.ts); no WWW-Authenticate on 401: the credential is a TLS certificate, not a token. */
function sendProblem(response: ServerResponse, error: PlatformError): void {
  const retry = error.code === 'STORE_UNAVAILABLE' || error.retryAfterSeconds !== undefined;
  sendJson(response, error.httpStatus, 'application/problem+json', problemBody(error, discoveryPath), {
    ...(retry ? { 'retry-after': String(Math.max(1, Math.ceil(error.retryAfterSeconds ?? 1))) } : {}),
  });
}

/** The audit event of an answer: one write, nothing read for it. A failed write is logged; the device still gets its answer. */
async function auditAnswer(options: DiscoveryServerOptions, answer: DiscoveryAnswer): Promise<void> {
  const { body } = answer;
  try {
    await options.audit.appendAudit({
      type: 'discovery.answered',
      outcome: 'success',
      actor: body.clientId,
      accountId: answer.accountId,
      clientId: body.clientId,
      provisionRequestId: null,
      detail: {
        kind: body.kind,
        brokerUrl: body.brokerUrl,
        serial: answer.serial,
        ...(answer.manufacturerCaId ? { manufacturerCaId: answer.manufacturerCaId } : {}),
        ...(body.kind === 'provision' ? { enrollmentGroupId: body.enrollmentGroup?.id ?? null } : {}),
      },
    });
  } catch (error) {
    options.log.warn({ err: error, clientId: body.clientId }, 'discovery: audit event not written');
  }
}

async function handle(options: DiscoveryServerOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = (request.url ?? '/').split('?')[0];
  if (path !== discoveryPath || (request.method !== 'GET' && request.method !== 'HEAD')) {
    sendProblem(response, new PlatformError('NOT_FOUND', { detail: `only GET ${discoveryPath} is served here` }));
    return;
  }
  // A request carrying a body is answered all the same; the connection is not kept for more.
  if (request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined) response.shouldKeepAlive = false;
  const peer: X509Certificate | undefined = (request.socket as TLSSocket).getPeerX509Certificate();
  if (!peer) {
    sendProblem(
      response,
      new PlatformError('UNAUTHENTICATED', { detail: 'present a factory certificate or an operational certificate as TLS client certificate' }),
    );
    return;
  }
  try {
    const answer = await answerDiscovery(options, peer);
    await auditAnswer(options, answer);
    sendJson(response, 200, 'application/json', answer.body);
  } catch (error) {
    if (isPlatformError(error)) {
      options.log.info({ code: error.code, reason: error.detail, address: request.socket.remoteAddress, subject: peer.subject }, 'discovery refused');
      sendProblem(response, error);
      return;
    }
    options.log.error({ err: error }, 'discovery failed');
    sendProblem(response, new PlatformError('INTERNAL'));
  }
}

/**
 * Starts the discovery listener. The client certificate is asked for but not checked by TLS
 * (requestCert, rejectUnauthorized false): factory certificates chain to manufacturer CAs the
 * operator registers while the platform runs, and a missing certificate is answered 401 rather
 * than a dropped handshake. The server certificate is the brokers', so a device checks it
 * against the platform's root as it does on the brokers.
 */
export async function startDiscoveryServer(options: DiscoveryServerOptions): Promise<RunningDiscoveryServer> {
  let credentials = options.credentials();
  const tlsOptions: ServerOptions = {
    minVersion: 'TLSv1.2',
    requestCert: true,
    rejectUnauthorized: false,
    handshakeTimeout: limits.handshakeTimeoutMs,
  };
  const server = createServer({
    ...tlsOptions,
    cert: credentials.certPem,
    key: credentials.keyPem,
    maxHeaderSize: limits.maxHeaderSize,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
  });
  server.maxConnections = limits.maxConnections;
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
  server.setTimeout(limits.idleTimeoutMs, (socket) => socket.destroy());
  // Before the TLS server makes the connection's TLS socket from its context: a reissued certificate is in place for this handshake.
  server.prependListener('connection', () => {
    const current = options.credentials();
    if (current === credentials) return;
    credentials = current;
    server.setSecureContext({ ...tlsOptions, cert: current.certPem, key: current.keyPem });
  });
  // Failed handshakes (scanners, plain HTTP on the port) are routine: dropped quietly.
  server.on('tlsClientError', (error, socket) => {
    options.log.debug({ address: socket.remoteAddress, reason: error.message }, 'discovery: TLS handshake failed');
    socket.destroy();
  });
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    handle(options, request, response).catch((error: unknown) => {
      options.log.error({ err: error }, 'discovery failed');
      if (!response.headersSent) sendProblem(response, new PlatformError('INTERNAL'));
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closing: Promise<void> | undefined;
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Discovery answers are short: nothing is worth waiting for at shutdown.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
