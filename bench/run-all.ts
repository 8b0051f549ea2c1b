/**
 * `npm run bench`: every benchmark of issue 6 in turn, each as its own process writing its JSON
 * into --out, then one table of the targets. `--quick` runs reduced sizes (a few minutes).
 *
 *   tsx bench/run-all.ts [--quick] [--only end-to-end,connect-rate,…] [--out DIR] [--json all.json]
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseFlags } from './support/args.ts';
import { exited, spawnTracked } from './support/children.ts';
import { checkTarget, type BenchmarkResult, type TargetCheck } from './support/output.ts';
import { benchDir, repoRoot } from './support/repo.ts';
import { printTable } from './support/table.ts';

const flags = parseFlags('tsx bench/run-all.ts: the whole benchmark suite', {
  quick: { default: false, help: 'reduced sizes' },
  only: { default: '', help: 'comma-separated benchmark names' },
  out: { default: path.join(benchDir, 'results'), help: "directory for each benchmark's JSON" },
});

interface Benchmark {
  readonly name: string;
  readonly script: string;
  /** Arguments besides the output file; `quick` the reduced ones. */
  readonly full: readonly string[];
  readonly quick: readonly string[];
  /** ca-issuance.ts takes its output file as a positional argument. */
  readonly positionalOutput?: boolean;
}

const benchmarks: readonly Benchmark[] = [
  { name: 'ca-issuance', script: 'bench/ca-issuance.ts', full: [], quick: [], positionalOutput: true },
  { name: 'store-journey', script: 'bench/store-journey.ts', full: [], quick: ['--devices', '1000', '--rounds', '3', '--warmup', '300'] },
  { name: 'bulk-create', script: 'bench/bulk-create.ts', full: [], quick: ['--requests', '3000', '--rounds', '3', '--warmup', '1000'] },
  { name: 'connect-rate', script: 'bench/connect-rate.ts', full: [], quick: ['--devices', '2000', '--connects', '1000', '--warmup', '300', '--rounds', '3'] },
  { name: 'idle-memory', script: 'bench/idle-memory.ts', full: [], quick: ['--connections', '1000', '--rounds', '1'] },
  { name: 'end-to-end', script: 'bench/end-to-end.ts', full: [], quick: ['--devices', '600', '--warmup', '100'] },
  { name: 'renewal', script: 'bench/renewal.ts', full: [], quick: ['--devices', '600', '--warmup', '100'] },
];

/** ca-issuance writes its own format: turn it into a target check. */
function caTargets(json: { results?: { case: string; perSecond: number }[]; targetPerSecond?: number }): TargetCheck[] {
  const ec = json.results?.[0];
  return ec ? [checkTarget(`EC certificates per second per core (${ec.case})`, ec.perSecond, json.targetPerSecond ?? 3000, 'certs/s', 'atLeast')] : [];
}

async function main(): Promise<void> {
  const selected = flags.only ? benchmarks.filter((b) => flags.only.split(',').includes(b.name)) : benchmarks;
  await mkdir(flags.out, { recursive: true });
  const collected: Record<string, unknown> = {};
  const rows: Record<string, string | number | null>[] = [];
  const failed: string[] = [];
  for (const benchmark of selected) {
    const output = path.join(flags.out, `${benchmark.name}.json`);
    const args = [...(flags.quick ? benchmark.quick : benchmark.full), ...(benchmark.positionalOutput ? [output] : ['--json', output])];
    process.stdout.write(`\n=== ${benchmark.name}: ${benchmark.script} ${args.join(' ')}\n`);
    const started = performance.now();
    const child = spawnTracked(process.execPath, ['--import', 'tsx', benchmark.script, ...args], { cwd: repoRoot, stdio: 'inherit' });
    const code = await exited(child);
    process.stdout.write(`=== ${benchmark.name}: exit ${code} after ${Math.round((performance.now() - started) / 1000)} s\n`);
    if (code !== 0) {
      failed.push(benchmark.name);
      continue;
    }
    const json = JSON.parse(await readFile(output, 'utf8')) as BenchmarkResult & { targetPerSecond?: number };
    collected[benchmark.name] = json;
    const targets = benchmark.name === 'ca-issuance' ? caTargets(json as never) : json.targets;
    for (const t of targets)
      rows.push({
        benchmark: benchmark.name,
        target: t.target,
        measured: t.measured,
        limit: t.limit,
        unit: t.unit,
        met: t.met === null ? 'n/a' : t.met ? 'met' : 'NOT MET',
      });
  }
  printTable(`Targets of issue 6${flags.quick ? ' (quick sizes)' : ''}`, rows);
  if (failed.length > 0) process.stdout.write(`\nfailed: ${failed.join(', ')}\n`);
  if (flags.json) await writeFile(flags.json, `${JSON.stringify({ quick: flags.quick, benchmarks: collected, targets: rows, failed }, null, 2)}\n`);
  process.exitCode = failed.length > 0 ? 1 : 0;
}

await main();
