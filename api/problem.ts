import type { Response } from 'express';
import { PlatformError } from '../errors/platform-error.ts';

/** Stable URI of each error code; docs/ERRORS.md explains every code. */
export const problemTypeBase = 'https://provisio.dev/errors/';

export interface FieldError {
  /** 'body/...', 'query/...', 'path/...' or 'header/...' (JSON-Pointer-like). */
  readonly path: string;
  readonly message: string;
}

/** VALIDATION_FAILED with the individual findings, answered as the problem's `errors`. */
export class ApiValidationError extends PlatformError {
  readonly errors: readonly FieldError[];

  constructor(errors: readonly FieldError[], detail = summarizeFieldErrors(errors)) {
    super('VALIDATION_FAILED', { detail });
    this.errors = errors;
  }
}

export function summarizeFieldErrors(errors: readonly FieldError[], shown = 5): string {
  const parts = errors.slice(0, shown).map((error) => `${error.path} ${error.message}`);
  const more = errors.length > shown ? ` (and ${errors.length - shown} more)` : '';
  return `${parts.join('; ')}${more}`;
}

/** A single-field validation failure: `invalid('body/expiresOn', 'must be after activatesOn')`. */
export function invalid(path: string, message: string): ApiValidationError {
  return new ApiValidationError([{ path, message }]);
}

export interface ProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: string;
  readonly detail?: string;
  readonly instance?: string;
  readonly errors?: readonly FieldError[];
}

export function problemBody(error: PlatformError, instance?: string): ProblemBody {
  return {
    type: `${problemTypeBase}${error.code}`,
    title: error.definition.message,
    status: error.httpStatus,
    code: error.code,
    ...(error.detail ? { detail: error.detail } : {}),
    ...(instance ? { instance } : {}),
    ...(error instanceof ApiValidationError ? { errors: error.errors } : {}),
  };
}

export function sendProblem(res: Response, error: PlatformError, instance?: string): void {
  const status = error.httpStatus;
  if (status === 429 || error.code === 'STORE_UNAVAILABLE' || error.retryAfterSeconds !== undefined) {
    res.setHeader('Retry-After', String(Math.max(1, Math.ceil(error.retryAfterSeconds ?? 1))));
  }
  if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="provisio"');
  res.setHeader('Cache-Control', 'no-store');
  res
    .status(status)
    .type('application/problem+json')
    .send(JSON.stringify(problemBody(error, instance)));
}
