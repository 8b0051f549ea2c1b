import type { ErrorRequestHandler, RequestHandler } from 'express';
import { PlatformError, toPlatformError } from '../errors/platform-error.ts';
import type { Logger } from '../log/logger.ts';
import { sendProblem } from './problem.ts';

interface HttpLayerError {
  readonly status: number;
  readonly type?: string;
}

/** Errors raised by Express, body-parser and the router for bad requests carry a 4xx `status`. */
function isHttpLayerError(error: unknown): error is HttpLayerError {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/**
 * Their messages can echo the input (JSON.parse quotes the text, the router quotes the path),
 * so the answer uses fixed words instead.
 */
function fromHttpLayer(error: HttpLayerError): PlatformError {
  if (error.status === 413) return new PlatformError('PAYLOAD_TOO_LARGE');
  if (error.status === 404) return new PlatformError('NOT_FOUND');
  switch (error.type) {
    case 'entity.parse.failed':
      return new PlatformError('VALIDATION_FAILED', { detail: 'the body is not valid JSON' });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new PlatformError('VALIDATION_FAILED', { detail: 'the body must be UTF-8 JSON' });
    case 'request.aborted':
      return new PlatformError('VALIDATION_FAILED', { detail: 'the request was aborted' });
    default:
      return new PlatformError('VALIDATION_FAILED', { detail: 'the request cannot be read' });
  }
}

/** The one place where anything thrown becomes an RFC 9457 problem answer. */
export function problemErrorHandler(log: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const platformError =
      error instanceof PlatformError || !isHttpLayerError(error)
        ? toPlatformError(error, log, `unexpected error in ${req.method} ${req.path}`)
        : fromHttpLayer(error);
    if (platformError.httpStatus >= 500 && platformError.code !== 'INTERNAL') {
      log.warn({ code: platformError.code, path: req.path }, 'request failed on the server side');
    }
    if (res.headersSent) {
      // Part of the answer is on the wire (a download broke off): all we can do is cut it.
      log.warn({ code: platformError.code, path: req.path }, 'response failed after its headers were sent');
      res.destroy();
      return;
    }
    if (platformError.code === 'PAYLOAD_TOO_LARGE' && !req.complete) {
      // The rest of the body is not read; close rather than drain it.
      res.setHeader('Connection', 'close');
    }
    sendProblem(res, platformError, req.path);
  };
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new PlatformError('NOT_FOUND', { detail: `no route for ${req.method} ${req.path}` }));
};
