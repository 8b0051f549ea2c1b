import type { RequestHandler } from 'express';
import type { Logger } from '../log/logger.ts';

/**
 * One debug line per request: method, path, status, duration. Never the query string (the
 * download token travels there) nor headers (the bearer token does).
 */
export function requestLogger(log: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      if (!log.isLevelEnabled('debug')) return;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      log.debug({ method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'http request');
    });
    next();
  };
}
