import express from 'express';
import { consoleRouter } from './console-static.ts';
import { problemErrorHandler, notFoundHandler } from './error-handler.ts';
import { buildOpenApiDocument, type OpenApiDocument } from './openapi.ts';
import { ProvisionRequestService } from './provision-request-service.ts';
import { metricsRoute } from './metrics-route.ts';
import { registerRoutes } from './register-routes.ts';
import { requestLogger } from './request-logger.ts';
import { createRouteDeps, type ApiDeps } from './route-deps.ts';
import type { ApiRoute } from './route-spec.ts';
import { accountRoutes } from './routes/accounts.ts';
import { apiTokenRoutes } from './routes/api-tokens.ts';
import { auditEventRoutes } from './routes/audit-events.ts';
import { bundleRoutes } from './routes/bundles.ts';
import { categoryRoutes } from './routes/categories.ts';
import { certificateRenewalRoutes } from './routes/certificate-renewals.ts';
import { certificateRoutes } from './routes/certificates.ts';
import { configurationRoutes } from './routes/configurations.ts';
import { deviceAssignmentRoutes } from './routes/device-assignments.ts';
import { deviceRoutes } from './routes/devices.ts';
import { enrollmentGroupRoutes } from './routes/enrollment-groups.ts';
import { eventStreamRoutes } from './routes/events.ts';
import { manufacturerCaRoutes } from './routes/manufacturer-cas.ts';
import { metaRoutes } from './routes/meta.ts';
import { provisionRequestRoutes } from './routes/provision-requests.ts';
import { provisioningCodeRoutes } from './routes/provisioning-codes.ts';
import { updateJobRoutes } from './routes/update-jobs.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { whoamiRoutes } from './routes/whoami.ts';
import { SchemaValidator } from './validation.ts';

export type { ApiDeps } from './route-deps.ts';

/** The route table: what the server mounts and what openapi.json describes. */
export function apiRoutes(deps: ApiDeps): ApiRoute[] {
  const routeDeps = createRouteDeps(deps, new ProvisionRequestService(deps));
  let document: OpenApiDocument | undefined;
  const routes: ApiRoute[] = [
    ...metaRoutes(routeDeps, () => (document ??= buildOpenApiDocument(routes))),
    ...accountRoutes(routeDeps),
    ...apiTokenRoutes(routeDeps),
    ...provisionRequestRoutes(routeDeps),
    ...configurationRoutes(routeDeps),
    ...categoryRoutes(routeDeps),
    ...bundleRoutes(routeDeps),
    ...certificateRoutes(routeDeps),
    ...certificateRenewalRoutes(routeDeps),
    ...deviceRoutes(routeDeps),
    ...updateJobRoutes(routeDeps),
    ...auditEventRoutes(routeDeps),
    ...eventStreamRoutes(routeDeps),
    ...webhookRoutes(routeDeps),
    ...manufacturerCaRoutes(routeDeps),
    ...enrollmentGroupRoutes(routeDeps),
    ...provisioningCodeRoutes(routeDeps),
    ...deviceAssignmentRoutes(routeDeps),
    ...whoamiRoutes(routeDeps),
  ];
  return routes;
}

/**
 * The admin HTTP API: /healthz, /readyz and /api/v1/*, and the web console at / (api/console-static.ts).
 * Every error, including unknown routes, malformed JSON and oversized bodies, is answered as
 * application/problem+json by one handler.
 */
export function createApiApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(requestLogger(deps.log));
  // With a listener of its own (PROVISIO_METRICS_PORT), /metrics is not served here.
  if (deps.config.metricsPort === undefined) app.get('/metrics', metricsRoute(deps.adminTokens));
  registerRoutes(app, apiRoutes(deps), {
    authenticator: deps.adminTokens,
    validator: new SchemaValidator(),
    jsonBodyLimitBytes: deps.config.httpBodyLimitBytes,
  });
  app.use(consoleRouter());
  app.use(notFoundHandler);
  app.use(problemErrorHandler(deps.log));
  return app;
}
