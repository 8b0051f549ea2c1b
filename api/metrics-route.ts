import type { RequestHandler } from 'express';
import { PlatformError } from '../errors/platform-error.ts';
import { renderMetrics } from '../metrics/metrics.ts';
import type { ApiTokenAuthenticator } from './auth.ts';

/**
 * GET /metrics on the API port (PROVISIO_METRICS_PORT unset): the Prometheus exposition, to a
 * global token of any scope (a read-only one is enough for Prometheus' `authorization` setting).
 * The API port may face the internet (devices download bundles and the CRL there), and the
 * counts say how large the fleet is and how it fails: not for anyone, nor for a token bound to
 * one account, since they cover every account (docs/SECURITY.md). Outside /api/v1, so not in the
 * OpenAPI document: it is Prometheus' format, not the API's.
 */
export function metricsRoute(authenticator: ApiTokenAuthenticator): RequestHandler {
  return async (req, res) => {
    const principal = await authenticator.authenticate(req.get('authorization'));
    if (principal.kind !== 'admin') throw new PlatformError('FORBIDDEN', { detail: 'metrics cover every account: use a global token' });
    const { contentType, body } = await renderMetrics();
    res.setHeader('Cache-Control', 'no-store');
    res.type(contentType).send(body);
  };
}
