import type { Request, Response } from 'express';
import type { Principal } from './auth.ts';
import type { ApiValidationError } from './problem.ts';
import type { JsonSchema } from './schemas/common.ts';
import type { SchemaName, Validated } from './schemas/index.ts';
import { defaultScopeOf, type TokenScope } from './token-scopes.ts';

/**
 * One row of the route table. api/register-routes.ts mounts it (auth, validation, handler) and
 * api/openapi.ts documents it, so the published contract and the running server cannot drift.
 */
export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ResponseDoc {
  readonly description: string;
  /** A JSON body of this component schema. */
  readonly schema?: SchemaName;
  /** Other media types, e.g. text/csv or application/octet-stream. */
  readonly content?: Readonly<Record<string, JsonSchema>>;
  readonly headers?: Readonly<Record<string, { readonly description: string; readonly schema: JsonSchema }>>;
}

/**
 * Another media type a JSON body may come in (a CSV file of provision requests): the text is
 * turned into the JSON body and checked against the same schema, so both forms follow one set of
 * rules. Q is the route's query schema (a CSV import reads its delimiter there). Method syntax, as
 * for handlers, so routes of different schemas share one table.
 */
export interface TextBodyForm<Q extends SchemaName | undefined = SchemaName | undefined> {
  /** The media type, e.g. text/csv; the body must be UTF-8 (a charset parameter naming another is refused). */
  readonly contentType: string;
  /** What the text holds, for the OpenAPI document. */
  readonly description: string;
  /** The JSON body the text stands for; throws ApiValidationError naming where the text cannot be read. */
  toJson(text: string, query: Validated<Q>): unknown;
  /** The same findings named where they are in the text (a row and column rather than a JSON path). */
  locate(error: ApiValidationError): ApiValidationError;
}

/** A JSON body checked against the component schema N (or given as text in `text`'s form), or a body the handler streams itself (uploads). */
export type BodySpec<N extends SchemaName | undefined = SchemaName, Q extends SchemaName | undefined = SchemaName | undefined> =
  | { readonly kind: 'json'; readonly schema: N & SchemaName; readonly description?: string; readonly text?: TextBodyForm<Q> }
  | { readonly kind: 'binary'; readonly contentType: string; readonly description: string };

export interface RouteResult {
  readonly status: number;
  readonly body?: unknown;
}

/**
 * What a handler gets. `query` and `body` are typed by the schemas the route names (Q, B): the
 * values ajv checked against those very schemas, defaults filled in; undefined when it names none.
 */
export interface RouteContext<P extends Principal | null, Q extends SchemaName | undefined, B extends SchemaName | undefined> {
  readonly principal: P;
  readonly params: Record<string, string>;
  readonly query: Validated<Q>;
  readonly body: Validated<B>;
  /** The media type the body came in: application/json, the contentType of the route's text form, or undefined without one. */
  readonly bodyMediaType: string | undefined;
  readonly req: Request;
  readonly res: Response;
}

interface RouteBase<Q extends SchemaName | undefined, B extends SchemaName | undefined> {
  readonly method: HttpMethod;
  /** Full path in OpenAPI form: /api/v1/accounts/{id}. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  /** Path parameters and their schemas. */
  readonly params?: Readonly<Record<string, JsonSchema>>;
  readonly query?: Q;
  /** Documented request headers (checked by the handler). */
  readonly headers?: Readonly<Record<string, { readonly description: string; readonly schema: JsonSchema }>>;
  readonly body?: BodySpec<B, Q>;
  readonly responses: Readonly<Record<number, ResponseDoc>>;
  /** Problem statuses beyond those every route of its kind may answer (400/401/403/404/500/503). */
  readonly problems?: readonly number[];
  /**
   * The scope a token needs to call it (bearer routes), checked before anything else is read by
   * api/register-routes.ts and published as x-required-scope. Default: read for GET, operator
   * for any other method (api/token-scopes.ts defaultScopeOf); routes for accounts and tokens say admin.
   */
  readonly scope?: TokenScope;
}

/** The scope a bearer route needs: its own, or its method's default. */
export function requiredScopeOf(route: { readonly method: HttpMethod; readonly scope?: TokenScope }): TokenScope {
  return route.scope ?? defaultScopeOf(route.method);
}

/**
 * A handler answers by returning { status, body } (JSON), or by writing `res` itself and returning nothing.
 * Method syntax on purpose: it lets routes of different schemas share one table (ApiRoute); the
 * types of one route's handler and schemas are tied together where it is written, by defineRoute.
 */
interface Handles<P extends Principal | null, Q extends SchemaName | undefined, B extends SchemaName | undefined> {
  handler(context: RouteContext<P, Q, B>): Promise<RouteResult | void>;
}

type RouteSpec<Q extends SchemaName | undefined, B extends SchemaName | undefined> =
  (RouteBase<Q, B> & { readonly auth: 'bearer' } & Handles<Principal, Q, B>) | (RouteBase<Q, B> & { readonly auth: 'none' } & Handles<null, Q, B>);

/** Any route: the table api/register-routes.ts mounts and api/openapi.ts documents. */
export type ApiRoute = RouteSpec<SchemaName | undefined, SchemaName | undefined>;

/**
 * Writes a route: its handler's `query` and `body` get the static types of the schemas named in
 * `query` and `body.schema`, so a handler needs no cast and cannot disagree with its validation.
 */
export function defineRoute<Q extends SchemaName | undefined = undefined, B extends SchemaName | undefined = undefined>(route: RouteSpec<Q, B>): ApiRoute {
  return route;
}

export const apiPrefix = '/api/v1';
