/** The JSON every benchmark writes (to the path given with --json), and its console header. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { machineInfo, type MachineInfo } from './machine.ts';

export interface TargetCheck {
  readonly target: string;
  readonly measured: number | null;
  readonly limit: number;
  readonly unit: string;
  readonly met: boolean | null;
}

export interface BenchmarkResult {
  readonly benchmark: string;
  readonly startedAt: string;
  readonly machine: MachineInfo;
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly results: unknown;
  readonly targets: readonly TargetCheck[];
  readonly notes: readonly string[];
}

/** A target of the form "measured at least limit" (atLeast) or "at most limit". */
export function checkTarget(target: string, measured: number | null, limit: number, unit: string, kind: 'atLeast' | 'atMost'): TargetCheck {
  const met = measured === null ? null : kind === 'atLeast' ? measured >= limit : measured <= limit;
  return { target, measured, limit, unit, met };
}

export function describeTargets(targets: readonly TargetCheck[]): string {
  return targets.map((t) => `  ${t.met === null ? 'n/a    ' : t.met ? 'met    ' : 'NOT MET'}  ${t.target}: measured ${t.measured ?? '–'} ${t.unit}`).join('\n');
}

/** When a run started and on what (the code's git state is read now, before anything is measured). */
export interface RunContext {
  readonly startedAt: string;
  readonly machine: MachineInfo;
}

export function startRun(): RunContext {
  return { startedAt: new Date().toISOString(), machine: machineInfo() };
}

export async function writeResult(file: string | undefined, run: RunContext, result: Omit<BenchmarkResult, 'machine' | 'startedAt'>): Promise<void> {
  const full: BenchmarkResult = { ...result, startedAt: run.startedAt, machine: run.machine };
  if (result.targets.length > 0) process.stdout.write(`\nTargets (issue 6):\n${describeTargets(result.targets)}\n`);
  for (const note of result.notes) process.stdout.write(`note: ${note}\n`);
  if (!file) return;
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(file, `${JSON.stringify(full, null, 2)}\n`);
  process.stdout.write(`\nresults written to ${file}\n`);
}
