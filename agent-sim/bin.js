#!/usr/bin/env node
// Entry point for `npx agent-sim`: runs the TypeScript CLI through tsx.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`agent-sim: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
}
