#!/usr/bin/env node
// Entry point for `npx agent-sim`. In a development checkout (the TypeScript sources and tsx are
// there) it runs the sources through tsx, so it never runs a stale build; elsewhere (an install
// without dev dependencies) it runs the compiled CLI of `npm run build`, dist/agent-sim/cli.js.
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

const source = new URL('./cli.ts', import.meta.url);
const compiled = new URL('../dist/agent-sim/cli.js', import.meta.url);
const useSource = existsSync(source) && (await registerTsx());
if (!useSource && !existsSync(compiled)) {
  process.stderr.write('agent-sim: dist/agent-sim/cli.js is missing: run `npm run build` first (or install the dev dependencies)\n');
  process.exit(3);
}
const { main, exitCodes } = await import(useSource ? source.href : compiled.href);

let ended = false;
// Every wait of agent-sim is bounded. Should one not be, the process would run out of things to do
// with main() still waiting, and Node would exit with code 13 (an unsettled top-level await) and
// say nothing. Whoever listens for that moment (the fleet, to print its summary) acts on the first
// one; at the second, main() is still stuck: say so, with the exit code of an internal error.
let emptyLoops = 0;
process.on('beforeExit', () => {
  if (ended) return;
  emptyLoops += 1;
  if (emptyLoops === 1) {
    setImmediate(() => undefined);
    return;
  }
  ended = true;
  process.stderr.write('agent-sim: internal error: stopped with its work unfinished (a wait that nothing could end)\n');
  process.exitCode = exitCodes.internal;
});

main(process.argv.slice(2)).then(
  (code) => {
    ended = true;
    process.exitCode = code;
  },
  (error) => {
    ended = true;
    process.stderr.write(`agent-sim: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = exitCodes.internal;
  },
);
