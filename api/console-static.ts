import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type RequestHandler, type Router } from 'express';
import { PlatformError } from '../errors/platform-error.ts';

/**
 * Where the compiled web console is. In production the API runs from dist/api/ and the console
 * was built beside it into dist/console/ (`npm run build`); run from its sources (tsx: tests,
 * development) the API serves the same build output, dist/console/ at the top of the checkout,
 * which scripts/build-console.ts writes (tests run it first).
 */
export function defaultConsoleDirectory(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  return import.meta.url.endsWith('.ts') ? join(here, '..', 'dist', 'console') : join(here, '..', 'console');
}

/**
 * The console is a page of its own origin, so its headers close what a page could be tricked
 * into: only scripts, styles and API calls of this origin (no inline script, nothing from a CDN),
 * never framed (clickjacking), no MIME sniffing, no referrer, and the page itself never cached.
 */
export const consoleSecurityHeaders: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
});

const withSecurityHeaders: RequestHandler = (_req, res, next) => {
  res.set(consoleSecurityHeaders);
  next();
};

/**
 * Serves the web console: the page at / and its scripts and styles under /console/. The page
 * itself holds nothing secret, but it is answered with no-store like every API answer, so a
 * shared machine's cache keeps no view of it. Without a build the page answers a 404 problem
 * saying how to build it, instead of a blank page.
 */
export function consoleRouter(directory: string = defaultConsoleDirectory()): Router {
  const router = express.Router();
  router.get('/', withSecurityHeaders, (_req, res, next) => {
    const page = join(directory, 'index.html');
    if (!existsSync(page)) {
      next(new PlatformError('NOT_FOUND', { detail: 'the web console is not built: run npm run build' }));
      return;
    }
    res.setHeader('Cache-Control', 'no-store');
    res.sendFile(page);
  });
  router.use(
    '/console',
    withSecurityHeaders,
    express.static(directory, {
      index: false,
      fallthrough: true,
      etag: false,
      setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache'),
    }),
  );
  return router;
}
