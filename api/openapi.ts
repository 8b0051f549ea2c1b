import { errorCatalogue } from '../errors/catalogue.ts';
import { requiredScopeOf, type ApiRoute, type ResponseDoc } from './route-spec.ts';
import type { JsonSchema } from './schemas/common.ts';
import { componentSchemas } from './schemas/index.ts';

/**
 * Builds the OpenAPI 3.1 document from the route table and the very schema objects the
 * validators use. Served at GET /api/v1/openapi.json.
 */
export type OpenApiDocument = Record<string, unknown>;

const schemaRef = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

const problemStatuses: Record<number, string> = {
  400: 'The input is not valid (VALIDATION_FAILED and others).',
  401: 'Missing or invalid API token (UNAUTHENTICATED).',
  403: 'The token may not do this (FORBIDDEN), or a download token is invalid (BUNDLE_TOKEN_INVALID).',
  404: 'Not found, or not visible to this token (NOT_FOUND).',
  409: 'Conflict: DUPLICATE, VERSION_CONFLICT or a record still in use.',
  413: 'The body is too large (PAYLOAD_TOO_LARGE).',
  429: 'Busy; retry after the Retry-After delay (OVERLOADED).',
  500: 'Internal error (INTERNAL); details are only in the server log.',
  503: 'The provision store is unavailable (STORE_UNAVAILABLE).',
};

function problemResponses(): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [status, description] of Object.entries(problemStatuses)) {
    const retryAfter = status === '429' || status === '503';
    responses[`Problem${status}`] = {
      description,
      content: { 'application/problem+json': { schema: schemaRef('Problem') } },
      ...(retryAfter ? { headers: { 'Retry-After': { description: 'Seconds to wait.', schema: { type: 'integer' } } } } : {}),
    };
  }
  return responses;
}

function responseObject(doc: ResponseDoc): Record<string, unknown> {
  const content: Record<string, unknown> = {};
  if (doc.schema) content['application/json'] = { schema: schemaRef(doc.schema) };
  for (const [mediaType, schema] of Object.entries(doc.content ?? {})) content[mediaType] = { schema };
  return {
    description: doc.description,
    ...(Object.keys(content).length > 0 ? { content } : {}),
    ...(doc.headers ? { headers: doc.headers } : {}),
  };
}

function parameters(route: ApiRoute): unknown[] {
  const out: unknown[] = [];
  for (const [name, schema] of Object.entries(route.params ?? {})) {
    out.push({ name, in: 'path', required: true, schema });
  }
  if (route.query) {
    const querySchema = componentSchemas[route.query];
    const required: readonly string[] = querySchema.required ?? [];
    for (const [name, schema] of Object.entries(querySchema.properties)) {
      const description = schema['description'];
      out.push({
        name,
        in: 'query',
        required: required.includes(name),
        ...(typeof description === 'string' ? { description } : {}),
        schema,
        ...(schema['type'] === 'array' ? { style: 'form', explode: true } : {}),
      });
    }
  }
  for (const [name, header] of Object.entries(route.headers ?? {})) {
    out.push({ name, in: 'header', required: false, description: header.description, schema: header.schema });
  }
  return out;
}

function problemStatusesOf(route: ApiRoute): number[] {
  const statuses = new Set<number>([500, 503, ...(route.problems ?? [])]);
  if (route.params || route.query || route.body || route.headers) statuses.add(400);
  if (route.body) statuses.add(413);
  if (route.auth === 'bearer') {
    statuses.add(401);
    statuses.add(403);
  }
  if (route.params) statuses.add(404);
  return [...statuses].filter((status) => status in problemStatuses).sort();
}

function operation(route: ApiRoute): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [status, doc] of Object.entries(route.responses)) responses[status] = responseObject(doc);
  for (const status of problemStatusesOf(route)) responses[String(status)] ??= { $ref: `#/components/responses/Problem${status}` };
  const body = route.body;
  const requestBody = !body
    ? undefined
    : body.kind === 'json'
      ? {
          required: true,
          ...(body.description ? { description: body.description } : {}),
          content: {
            'application/json': { schema: schemaRef(body.schema) },
            ...(body.text ? { [body.text.contentType]: { schema: { type: 'string', description: body.text.description } } } : {}),
          },
        }
      : {
          required: true,
          description: body.description,
          content: { [body.contentType]: { schema: { type: 'string', contentMediaType: body.contentType } } },
        };
  const parameterList = parameters(route);
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [route.tag],
    ...(route.auth === 'none' ? { security: [] } : { 'x-required-scope': requiredScopeOf(route) }),
    ...(parameterList.length > 0 ? { parameters: parameterList } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses,
  };
}

export function buildOpenApiDocument(routes: readonly ApiRoute[], serverVersion = '0.1.0'): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const item = (paths[route.path] ??= {});
    item[route.method] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'provisio admin API',
      version: serverVersion,
      description:
        'Accounts, provision requests, configurations, bundles, certificates and the audit log of a provisio platform. ' +
        `Errors are RFC 9457 problem details; \`code\` is one of: ${Object.keys(errorCatalogue).join(', ')}.`,
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    tags: [...new Set(routes.map((route) => route.tag))].map((name) => ({ name })),
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      schemas: componentSchemas,
      responses: problemResponses(),
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            'The admin token, or an API token `{id}.{secret}` from POST /api/v1/api-tokens. Each operation names in `x-required-scope` the scope a token needs: ' +
            'read (GET only), operator (also changes requests, devices, categories, configurations, bundles, update jobs, certificates) or admin (also accounts and API tokens); ' +
            'a token of a lower scope gets 403. A token bound to an account acts only in it.',
        },
      },
    },
  };
}
