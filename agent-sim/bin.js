#!/usr/bin/env node
// Entry point for `npx agent-sim`: runs the TypeScript CLI through tsx.
import { register } from 'tsx/esm/api';

register();
const { main, exitCodes } = await import('./cli.ts');

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
