import { errorCatalogue, type ErrorCode, type ErrorDefinition } from './catalogue.ts';
import { describeErrno, errnoOf, storageFailureCodes } from './file-system-cause.ts';

export interface PlatformErrorOptions {
  /** Safe, user-facing detail (never a secret, never a stack). */
  detail?: string;
  /** Seconds a client should wait before retrying (OVERLOADED, CONNECT_LOCKED_OUT). */
  retryAfterSeconds?: number;
  cause?: unknown;
}

/** The typed error every layer throws and maps; `code` is stable and documented. */
export class PlatformError extends Error {
  readonly code: ErrorCode;
  readonly definition: ErrorDefinition;
  readonly detail: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, options: PlatformErrorOptions = {}) {
    const definition = errorCatalogue[code];
    super(options.detail ? `${definition.message}: ${options.detail}` : definition.message, {
      cause: options.cause,
    });
    this.name = 'PlatformError';
    this.code = code;
    this.definition = definition;
    this.detail = options.detail;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  get httpStatus(): number {
    return this.definition.httpStatus;
  }

  get replyCode(): number {
    return this.definition.replyCode ?? 500;
  }

  get connackCode(): number {
    return this.definition.connackCode ?? errorCatalogue.INTERNAL.connackCode;
  }
}

export function isPlatformError(error: unknown): error is PlatformError {
  return error instanceof PlatformError;
}

export interface ErrorLogger {
  error(object: object, message: string): void;
}

/**
 * The one mapping of a storage failure (a full disk, a quota, a read-only or failing file
 * system: errors/file-system-cause.ts) to STORE_UNAVAILABLE, its detail naming the cause and
 * never a path: `{doing}: ENOSPC (no space left on the device)`. Undefined for other errors.
 */
export function storageUnavailable(error: unknown, doing = 'the server could not write to its storage'): PlatformError | undefined {
  const code = errnoOf(error);
  if (code === undefined || !storageFailureCodes.has(code)) return undefined;
  return new PlatformError('STORE_UNAVAILABLE', { detail: `${doing}: ${describeErrno(code)}`, cause: error });
}

/**
 * Maps anything thrown to a PlatformError. A storage failure becomes STORE_UNAVAILABLE naming
 * its cause (storageUnavailable). Those and unknown errors are logged with their stack here,
 * once; an unknown error becomes a plain INTERNAL error that carries no details to the outside.
 */
export function toPlatformError(error: unknown, log: ErrorLogger, context = 'unexpected error'): PlatformError {
  if (isPlatformError(error)) return error;
  log.error({ err: error }, context);
  return storageUnavailable(error) ?? new PlatformError('INTERNAL');
}
