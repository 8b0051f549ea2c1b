/**
 * Builds the web console (console/) into dist/console/ or `outDir`: its TypeScript compiled by
 * tsc to browser ES modules (console/tsconfig.json), and its page and style sheet copied beside
 * them. Part of `npm run build` (so of `npm start` and the Dockerfile); the console tests run it
 * first, as the API served from sources serves dist/console/ too (api/console-static.ts).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
/** The files of console/ served as they are. */
const staticFiles = ['index.html', 'console.css'];

export function buildConsole(outDir: string = join(repoRoot, 'dist', 'console')): void {
  const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const build = spawnSync(process.execPath, [tsc, '-p', join(repoRoot, 'console', 'tsconfig.json'), '--outDir', outDir], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (build.status !== 0) throw new Error(`the console did not compile:\n${build.stdout}${build.stderr}${build.error?.message ?? ''}`);
  mkdirSync(outDir, { recursive: true });
  for (const file of staticFiles) copyFileSync(join(repoRoot, 'console', file), join(outDir, file));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) buildConsole(process.argv[2]);
