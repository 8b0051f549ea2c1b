import type { IncomingMessage, ServerResponse } from 'node:http';
import { renderMetrics } from '../metrics/metrics.ts';
import { startHttpServer } from './http-server.ts';

/**
 * Answers GET /metrics with the Prometheus exposition (metrics/metrics.ts), without
 * authentication: only on the internal ports, the health port of a cluster process and
 * PROVISIO_METRICS_PORT (docs/SECURITY.md). Another path: false, for the caller to answer.
 */
export function answerMetrics(request: IncomingMessage, response: ServerResponse): boolean {
  if ((request.url ?? '/').split('?')[0] !== '/metrics') return false;
  renderMetrics().then(
    ({ contentType, body }) => {
      response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : body);
    },
    (error: unknown) => {
      response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(`metrics not collected: ${(error as Error).message}\n`);
    },
  );
  return true;
}

/** The listener of PROVISIO_METRICS_PORT: /metrics and nothing else. */
export async function startMetricsServer(options: { host: string; port: number }): Promise<{ port: number; close(): Promise<void> }> {
  const { port, close } = await startHttpServer(
    (request, response) => {
      if (request.method === 'GET' || request.method === 'HEAD') {
        if (answerMetrics(request, response)) return;
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      response.writeHead(405, { 'content-type': 'text/plain' }).end('method not allowed\n');
    },
    { host: options.host, port: options.port, graceMs: 0 },
  );
  return { port, close };
}
