/**
 * Summarises .cpuprofile files: the top self-time functions and packages of each.
 *
 *   tsx bench/profile-summary.ts DIR|FILE… [--top 15] [--json out.json]
 */
import { readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { printSummary, summariseProfile, type ProfileSummary } from './support/cpu-profile.ts';

async function profileFiles(targets: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const target of targets) {
    if ((await stat(target)).isDirectory()) {
      for (const name of (await readdir(target)).sort()) if (name.endsWith('.cpuprofile')) files.push(path.join(target, name));
    } else files.push(target);
  }
  return files;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '15' }, json: { type: 'string' } }, allowPositionals: true });
  if (positionals.length === 0) throw new Error('usage: tsx bench/profile-summary.ts DIR|FILE… [--top 15] [--json out.json]');
  const summaries: ProfileSummary[] = [];
  for (const file of await profileFiles(positionals)) {
    const summary = await summariseProfile(file, Number(values.top));
    summaries.push(summary);
    printSummary('Profile', summary);
  }
  if (values.json) await writeFile(values.json, `${JSON.stringify(summaries, null, 2)}\n`);
}

await main();
