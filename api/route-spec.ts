import type { Request, Response } from 'express';
import type { Principal } from './auth.ts';
import type { JsonSchema } from './schemas/common.ts';
import type { SchemaName } from './schemas/index.ts';

/**
 * One row of the route table. api/register-routes.ts mounts it (auth, validation, handler) and
 * api/openapi.ts documents it, so the published contract and the running server cannot drift.
 */
export type HttpMethod = 'get' | 'post' | 'patch' | 'delete';

export interface ResponseDoc {
  readonly description: string;
  /** A JSON body of this component schema. */
  readonly schema?: SchemaName;
  /** Other media types, e.g. text/csv or application/octet-stream. */
  readonly content?: Readonly<Record<string, JsonSchema>>;
  readonly headers?: Readonly<Record<string, { readonly description: string; readonly schema: JsonSchema }>>;
}

export type BodySpec =
  | { readonly kind: 'json'; readonly schema: SchemaName; readonly description?: string }
  /** Streamed by the handler itself (uploads). */
  | { readonly kind: 'binary'; readonly contentType: string; readonly description: string };

export interface RouteResult {
  readonly status: number;
  readonly body?: unknown;
}

export interface RouteContext<P extends Principal | null> {
  readonly principal: P;
  readonly params: Record<string, string>;
  readonly query: unknown;
  readonly body: unknown;
  readonly req: Request;
  readonly res: Response;
}

interface RouteBase {
  readonly method: HttpMethod;
  /** Full path in OpenAPI form: /api/v1/accounts/{id}. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  /** Path parameters and their schemas. */
  readonly params?: Readonly<Record<string, JsonSchema>>;
  readonly query?: SchemaName;
  /** Documented request headers (checked by the handler). */
  readonly headers?: Readonly<Record<string, { readonly description: string; readonly schema: JsonSchema }>>;
  readonly body?: BodySpec;
  readonly responses: Readonly<Record<number, ResponseDoc>>;
  /** Problem statuses beyond those every route of its kind may answer (400/401/403/404/500/503). */
  readonly problems?: readonly number[];
}

/** A handler answers by returning { status, body } (JSON), or by writing `res` itself and returning nothing. */
export type RouteHandler<P extends Principal | null> = (context: RouteContext<P>) => Promise<RouteResult | void>;

export type ApiRoute =
  | (RouteBase & { readonly auth: 'bearer'; readonly handler: RouteHandler<Principal> })
  | (RouteBase & { readonly auth: 'none'; readonly handler: RouteHandler<null> });

export const apiPrefix = '/api/v1';
