import type { RequestListener } from 'node:http';
import { startHttpServer } from './http-server.ts';
import { answerMetrics } from './metrics-server.ts';

/** A readiness check: null when ready, else why not. */
export type ReadinessCheck = () => Promise<string | null>;

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * /healthz: the process is alive and its event loop answers (200). /readyz: it can do its job
 * now (200), or 503 with the reasons (Redis unreachable, listeners not up, shutting down).
 * Plain JSON, no authentication: it reveals nothing but up or down. With `metrics`, also
 * /metrics for Prometheus (platform/metrics-server.ts): the health port is an internal one.
 */
export async function startHealthServer(options: { host: string; port: number; checks: readonly ReadinessCheck[]; metrics?: boolean }): Promise<HealthServer> {
  const handler: RequestListener = (request, response) => {
    const reply = (status: number, body: Record<string, unknown>): void => {
      response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(JSON.stringify(body));
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') return reply(405, { status: 'method not allowed' });
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/healthz') return reply(200, { status: 'ok' });
    if (options.metrics && answerMetrics(request, response)) return;
    if (path !== '/readyz') return reply(404, { status: 'not found' });
    Promise.all(options.checks.map((check) => check().catch((error: unknown) => `check failed: ${(error as Error).message}`))).then(
      (results) => {
        const problems = results.filter((result): result is string => result !== null);
        reply(problems.length === 0 ? 200 : 503, problems.length === 0 ? { status: 'ready' } : { status: 'not ready', problems });
      },
      () => reply(503, { status: 'not ready' }),
    );
  };
  // Probes are answered at once: nothing to wait for at close.
  const { port, close } = await startHttpServer(handler, { host: options.host, port: options.port, graceMs: 0 });
  return { port, close };
}
