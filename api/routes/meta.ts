import { PlatformError } from '../../errors/platform-error.ts';
import type { OpenApiDocument } from '../openapi.ts';
import type { RouteDeps } from '../route-deps.ts';
import { apiPrefix, defineRoute, type ApiRoute } from '../route-spec.ts';

const readinessTimeoutMs = 2000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new PlatformError('STORE_UNAVAILABLE', { detail: 'the store did not answer in time' })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Liveness, readiness and the API description: no token needed. */
export function metaRoutes(deps: RouteDeps, openApiDocument: () => OpenApiDocument): ApiRoute[] {
  return [
    defineRoute({
      method: 'get',
      path: '/healthz',
      operationId: 'getHealth',
      summary: 'Liveness: 200 while the process runs',
      tag: 'meta',
      auth: 'none',
      responses: { 200: { description: 'Alive.', content: { 'application/json': { type: 'object' } } } },
      handler: async () => ({ status: 200, body: { status: 'ok' } }),
    }),
    defineRoute({
      method: 'get',
      path: '/readyz',
      operationId: 'getReadiness',
      summary: 'Readiness: 200 when the provision store answers, else 503',
      tag: 'meta',
      auth: 'none',
      responses: { 200: { description: 'Ready.', content: { 'application/json': { type: 'object' } } } },
      handler: async () => {
        try {
          await withTimeout(deps.store.getSetting('admin-token-hash'), readinessTimeoutMs);
        } catch (error) {
          deps.log.warn({ err: error }, 'readiness check: the store does not answer');
          throw new PlatformError('STORE_UNAVAILABLE', { cause: error });
        }
        return { status: 200, body: { status: 'ready', store: deps.store.backend } };
      },
    }),
    defineRoute({
      method: 'get',
      path: `${apiPrefix}/openapi.json`,
      operationId: 'getOpenApi',
      summary: 'This API as OpenAPI 3.1',
      tag: 'meta',
      auth: 'none',
      responses: { 200: { description: 'The OpenAPI document.', content: { 'application/json': { type: 'object' } } } },
      handler: async () => ({ status: 200, body: openApiDocument() }),
    }),
  ];
}
