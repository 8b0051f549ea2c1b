import type { Request, RequestHandler } from 'express';
import type { Logger } from '../log/logger.ts';
import { httpRequestDuration, httpRequests } from '../metrics/metrics.ts';

/**
 * The route template a request matched (`/api/v1/accounts/:accountId`), never the raw path: a
 * metric label must come from a bounded set. Without a route: the console's static files, or unmatched.
 */
function routeLabelOf(req: Request, status: number): string {
  const routePath = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof routePath === 'string') return `${req.baseUrl}${routePath}`;
  return status < 400 ? 'static' : 'unmatched';
}

/**
 * One debug line per request: method, path, status, duration. Never the query string (the
 * download token travels there) nor headers (the bearer token does). Every request is counted in
 * provisio_http_requests_total and timed in provisio_http_request_duration_seconds by route template.
 */
export function requestLogger(log: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const route = routeLabelOf(req, res.statusCode);
      httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      httpRequestDuration.observe({ method: req.method, route }, ms / 1000);
      if (!log.isLevelEnabled('debug')) return;
      log.debug({ method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'http request');
    });
    next();
  };
}
