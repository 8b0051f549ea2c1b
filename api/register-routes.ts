import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import type { ApiTokenAuthenticator } from './auth.ts';
import { invalid } from './problem.ts';
import type { ApiRoute, RouteResult } from './route-spec.ts';
import type { JsonSchema } from './schemas/common.ts';
import type { SchemaValidator } from './validation.ts';

export interface RouteRuntime {
  readonly authenticator: ApiTokenAuthenticator;
  readonly validator: SchemaValidator;
  readonly jsonBodyLimitBytes: number;
}

/** /api/v1/accounts/{id} → /api/v1/accounts/:id */
export function toExpressPath(openApiPath: string): string {
  return openApiPath.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');
}

function paramsSchemaOf(route: ApiRoute): JsonSchema | null {
  if (!route.params) return null;
  return { type: 'object', additionalProperties: false, required: Object.keys(route.params), properties: route.params };
}

function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
}

async function readJsonBody(req: Request, res: Response, parser: RequestHandler): Promise<unknown> {
  if (!hasBody(req)) return undefined;
  if (!req.is(['application/json', 'application/*+json'])) {
    throw invalid('header/content-type', 'must be application/json');
  }
  await new Promise<void>((resolve, reject) => {
    void parser(req, res, (error?: unknown) => (error ? reject(error) : resolve()));
  });
  return req.body as unknown;
}

/**
 * Fix (issue 7, found by test/security-api.test.ts): a JSON body nested thousands of levels deep
 * (well under the size limit) passed validation (a configuration's `content` is any object) and
 * overflowed the stack in the store's JSON.stringify: a 500. Bodies are refused with a 400 beyond
 * this depth, measured without recursion.
 */
export const maxJsonBodyDepth = 64;

function checkJsonDepth(value: unknown): void {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 1 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth > maxJsonBodyDepth) throw invalid('body', `nests deeper than ${maxJsonBodyDepth} levels`);
    for (const child of Object.values(current)) if (child !== null && typeof child === 'object') stack.push({ value: child, depth: depth + 1 });
  }
}

function send(res: Response, result: RouteResult): void {
  res.setHeader('Cache-Control', 'no-store');
  if (result.body === undefined) res.status(result.status).end();
  else res.status(result.status).json(result.body);
}

/**
 * Mounts the route table. Per request, in this order: authenticate (before reading any body),
 * validate path parameters, query string and JSON body with the published schemas, then run
 * the handler. Whatever is thrown goes to the one error handler (api/error-handler.ts).
 */
export function registerRoutes(app: Express, routes: readonly ApiRoute[], runtime: RouteRuntime): void {
  const jsonParser = express.json({ limit: runtime.jsonBodyLimitBytes, strict: true, type: () => true });
  const { validator, authenticator } = runtime;

  for (const route of routes) {
    const paramsSchema = paramsSchemaOf(route);
    const bodySchema = route.body?.kind === 'json' ? route.body.schema : undefined;

    app[route.method](toExpressPath(route.path), async (req: Request, res: Response) => {
      const principal = route.auth === 'bearer' ? await authenticator.authenticate(req.get('authorization')) : null;
      const params = paramsSchema ? validator.validate<Record<string, string>>(paramsSchema, { ...req.params }, 'path') : {};
      const query = validator.validatePart(route.query, req.query, 'query');
      const raw = bodySchema ? await readJsonBody(req, res, jsonParser) : undefined;
      if (bodySchema) checkJsonDepth(raw);
      const parsed = validator.validatePart(bodySchema, raw, 'body');
      const context = { params, query, body: parsed, req, res };
      const result =
        route.auth === 'bearer' ? await route.handler({ ...context, principal: principal! }) : await route.handler({ ...context, principal: null });
      if (result) send(res, result);
    });
  }
}
