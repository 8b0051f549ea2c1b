#!/usr/bin/env node
// Entry point for `provisio` (package.json bin). In a development checkout (the TypeScript sources
// and tsx are there) it runs the sources through tsx, so it never runs a stale build; elsewhere (an
// install without dev dependencies) it runs the compiled CLI of `npm run build`, dist/cli/main.js.
/* global AbortController */
import { existsSync } from 'node:fs';

/** Registers tsx's loader: false when tsx is not installed. */
async function registerTsx() {
  try {
    const { register } = await import('tsx/esm/api');
    register();
    return true;
  } catch (error) {
    if (error?.code === 'ERR_MODULE_NOT_FOUND') return false;
    throw error;
  }
}

const source = new URL('./main.ts', import.meta.url);
const compiled = new URL('../dist/cli/main.js', import.meta.url);
const useSource = existsSync(source) && (await registerTsx());
if (!useSource && !existsSync(compiled)) {
  process.stderr.write('provisio: dist/cli/main.js is missing: run `npm run build` first (or install the dev dependencies)\n');
  process.exit(4);
}
const { main, exitCodes } = await import(useSource ? source.href : compiled.href);

// Ctrl-C aborts the calls in flight and ends `audit tail -f`; main() then answers 130. A second
// Ctrl-C, with no listener left, ends the process at once.
const interrupt = new AbortController();
// `provisio audit ls | head -1`: a reader that has gone away is not an error of provisio.
process.stdout.on('error', (error) => {
  if (error.code !== 'EPIPE') throw error;
  interrupt.abort();
  process.exit(process.exitCode ?? 0);
});
process.once('SIGINT', () => interrupt.abort());

main(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  signal: interrupt.signal,
  stdin: process.stdin,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`provisio: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = exitCodes.internal;
  },
);
