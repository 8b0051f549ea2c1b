/**
 * Where the platform's time goes: runs the end-to-end and connect-rate benchmarks with the
 * platform under `node --cpu-prof`, then prints the top self-time functions and packages of each
 * profile (the whole life of the platform process, start-up included).
 *
 *   tsx bench/profile.ts [--devices 3000] [--connects 3000] [--out DIR] [--json out.json]
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseFlags } from './support/args.ts';
import { exited, spawnTracked } from './support/children.ts';
import { printSummary, summariseProfile, type ProfileSummary } from './support/cpu-profile.ts';
import { benchDir, repoRoot } from './support/repo.ts';

const flags = parseFlags('tsx bench/profile.ts: CPU profiles of the platform under the end-to-end and connect-rate loads', {
  devices: { default: 3_000, help: 'devices for the end-to-end run' },
  connects: { default: 3_000, help: 'connects per round for the connect-rate run' },
  top: { default: 15, help: 'entries per table' },
  out: { default: path.join(benchDir, 'results', 'profiles'), help: 'directory for the .cpuprofile files' },
});

async function run(script: string, args: readonly string[]): Promise<void> {
  const child = spawnTracked(process.execPath, ['--import', 'tsx', script, ...args], { cwd: repoRoot, stdio: 'inherit' });
  const code = await exited(child);
  if (code !== 0) throw new Error(`${script} exited with ${code}`);
}

/**
 * The main thread's profile: node writes CPU.{date}.{time}.{pid}.{threadId}.{seq}.cpuprofile per
 * thread, and tsx's module loader runs in a thread of its own (threadId 1).
 */
async function mainThreadProfile(directory: string): Promise<string> {
  const files = (await readdir(directory)).filter((name) => /\.\d+\.0\.\d+\.cpuprofile$/.test(name)).sort();
  const last = files.at(-1);
  if (!last) throw new Error(`no main-thread .cpuprofile written in ${directory}`);
  return path.join(directory, last);
}

async function main(): Promise<void> {
  const runs = [
    { name: 'end-to-end', script: 'bench/end-to-end.ts', args: ['--devices', String(flags.devices), '--rounds', '1'] },
    { name: 'connect-rate', script: 'bench/connect-rate.ts', args: ['--connects', String(flags.connects), '--rounds', '3'] },
  ];
  const summaries: { run: string; summary: ProfileSummary }[] = [];
  for (const r of runs) {
    const directory = path.join(flags.out, r.name);
    await rm(directory, { recursive: true, force: true });
    await mkdir(directory, { recursive: true });
    await run(r.script, [...r.args, '--profile', directory]);
    const summary = await summariseProfile(await mainThreadProfile(directory), flags.top);
    summaries.push({ run: r.name, summary });
  }
  for (const { run: name, summary } of summaries) printSummary(`Platform profile under ${name}`, summary);
  if (flags.json)
    await writeFile(flags.json, `${JSON.stringify({ benchmark: 'profile', parameters: { ...flags, json: undefined }, profiles: summaries }, null, 2)}\n`);
}

await main();
