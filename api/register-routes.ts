import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import type { ApiTokenAuthenticator } from './auth.ts';
import { PlatformError } from '../errors/platform-error.ts';
import { ApiValidationError, invalid } from './problem.ts';
import { requiredScopeOf, type ApiRoute, type RouteResult, type TextBodyForm } from './route-spec.ts';
import { scopeCovers } from './token-scopes.ts';
import type { JsonSchema } from './schemas/common.ts';
import type { SchemaName, Validated } from './schemas/index.ts';
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

async function runParser(req: Request, res: Response, parser: RequestHandler): Promise<unknown> {
  await new Promise<void>((resolve, reject) => {
    void parser(req, res, (error?: unknown) => (error ? reject(error) : resolve()));
  });
  return req.body as unknown;
}

/** The charset parameter of the Content-Type, lower-cased; undefined when there is none. */
function charsetOf(req: Request): string | undefined {
  return /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.get('content-type') ?? '')?.[1]?.toLowerCase();
}

/** A body in the route's text form (a CSV file): UTF-8 text, within the same size limit as JSON. */
async function readTextBody(req: Request, res: Response, parser: RequestHandler, form: TextBodyForm): Promise<string> {
  const charset = charsetOf(req);
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw invalid('header/content-type', `a ${form.contentType} body must be UTF-8 (charset=utf-8)`);
  }
  const text = await runParser(req, res, parser);
  return typeof text === 'string' ? text : '';
}

/** Which form the body comes in: JSON, the route's text form, or none; any other Content-Type is a 400. */
function bodyMediaTypeOf(req: Request, form: TextBodyForm | undefined): string | undefined {
  if (!hasBody(req)) return undefined;
  if (req.is(['application/json', 'application/*+json'])) return 'application/json';
  if (form && req.is(form.contentType)) return form.contentType;
  throw invalid('header/content-type', form ? `must be application/json or ${form.contentType}` : 'must be application/json');
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
 * Mounts the route table. Per request, in this order: authenticate and check the token's scope
 * covers the route's (before reading any body; the one place scopes are enforced),
 * validate path parameters, query string and JSON body (or the JSON its text form stands for)
 * with the published schemas, then run the handler. Whatever is thrown goes to the one error handler (api/error-handler.ts).
 */
export function registerRoutes(app: Express, routes: readonly ApiRoute[], runtime: RouteRuntime): void {
  const jsonParser = express.json({ limit: runtime.jsonBodyLimitBytes, strict: true, type: () => true });
  const textParser = express.text({ limit: runtime.jsonBodyLimitBytes, type: () => true, defaultCharset: 'utf-8' });
  const { validator, authenticator } = runtime;

  for (const route of routes) {
    const paramsSchema = paramsSchemaOf(route);
    const bodySchema = route.body?.kind === 'json' ? route.body.schema : undefined;
    const textForm = route.body?.kind === 'json' ? route.body.text : undefined;
    const requiredScope = requiredScopeOf(route);

    /** The JSON body, read as JSON or from the text form, checked against the route's schema (the text form's findings located in the text). */
    async function readBody(
      req: Request,
      res: Response,
      mediaType: string | undefined,
      query: Validated<SchemaName | undefined>,
    ): Promise<Validated<SchemaName | undefined>> {
      if (textForm && mediaType === textForm.contentType) {
        const raw = textForm.toJson(await readTextBody(req, res, textParser, textForm), query);
        try {
          return validator.validatePart(bodySchema, raw, 'body');
        } catch (error) {
          throw error instanceof ApiValidationError ? textForm.locate(error) : error;
        }
      }
      const raw = mediaType === undefined ? undefined : await runParser(req, res, jsonParser);
      checkJsonDepth(raw);
      return validator.validatePart(bodySchema, raw, 'body');
    }

    app[route.method](toExpressPath(route.path), async (req: Request, res: Response) => {
      const principal = route.auth === 'bearer' ? await authenticator.authenticate(req.get('authorization')) : null;
      if (principal && !scopeCovers(principal.scope, requiredScope)) {
        throw new PlatformError('FORBIDDEN', { detail: `this needs a token of scope ${requiredScope}; this token's scope is ${principal.scope}` });
      }
      const params = paramsSchema ? validator.validate<Record<string, string>>(paramsSchema, { ...req.params }, 'path') : {};
      const query = validator.validatePart(route.query, req.query, 'query');
      const bodyMediaType = bodySchema ? bodyMediaTypeOf(req, textForm) : undefined;
      const parsed = bodySchema ? await readBody(req, res, bodyMediaType, query) : undefined;
      const context = { params, query, body: parsed, bodyMediaType, req, res };
      const result =
        route.auth === 'bearer' ? await route.handler({ ...context, principal: principal! }) : await route.handler({ ...context, principal: null });
      if (result) send(res, result);
    });
  }
}
