import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';

/** Which of these programs are missing from PATH. */
export function missingPrograms(programs: readonly string[]): string[] {
  return programs.filter((program) => spawnSync('sh', ['-c', `command -v ${program}`]).status !== 0);
}

/**
 * Skips a test whose external tools are missing, loudly, unless the variable `requiredBy` is '1'
 * (CI sets it after installing them): then the test fails instead of hiding.
 */
export function skipUnlessInstalled(t: TestContext, programs: readonly string[], install: string, requiredBy: string): boolean {
  const missing = missingPrograms(programs);
  if (missing.length === 0) return false;
  if (process.env[requiredBy] === '1') throw new Error(`${missing.join(', ')} missing but ${requiredBy}=1: ${install}`);
  const banner = `!!! SKIPPED: ${t.name} needs ${missing.join(', ')} — ${install} !!!`;
  console.warn(`\n${'!'.repeat(banner.length)}\n${banner}\n${'!'.repeat(banner.length)}\n`);
  t.skip(banner);
  return true;
}
