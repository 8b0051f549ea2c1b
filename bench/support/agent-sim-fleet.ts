/** agent-sim's fleet mode as a separate process (the simulated devices), and its JSON summary. */
import type { FleetSummary } from '../../agent-sim/fleet.ts';
import { captureOutput, exited, spawnTracked } from './children.ts';
import { reapedChildrenCpuSeconds } from './proc-stats.ts';
import { repoRoot } from './repo.ts';

export interface FleetRun {
  readonly summary: FleetSummary;
  /** CPU seconds agent-sim used (the load generator's share of the machine). */
  readonly simulatorCpuSeconds: number;
  readonly wallSeconds: number;
}

export interface FleetRunOptions {
  readonly credentialsFile: string;
  readonly rootCaFile: string;
  readonly brokerUrl: string;
  readonly count: number;
  readonly concurrency: number;
  /** Where each device keeps its state (client.pem, client.key, …). */
  readonly stateRoot: string;
}

export async function runFleet(options: FleetRunOptions): Promise<FleetRun> {
  const cpuBefore = reapedChildrenCpuSeconds();
  const started = performance.now();
  const child = spawnTracked(
    process.execPath,
    [
      'agent-sim/bin.js',
      'fleet',
      '--credentials',
      options.credentialsFile,
      '--root-ca',
      options.rootCaFile,
      '--broker-url',
      options.brokerUrl,
      '--count',
      String(options.count),
      '--concurrency',
      String(options.concurrency),
      '--state-root',
      options.stateRoot,
      '--json',
    ],
    { cwd: repoRoot },
  );
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const output = captureOutput(child);
  const code = await exited(child);
  const wallSeconds = (performance.now() - started) / 1000;
  const line = stdout.trim().split('\n').pop() ?? '';
  let summary: FleetSummary;
  try {
    summary = JSON.parse(line) as FleetSummary;
  } catch {
    throw new Error(`agent-sim fleet exited ${code} without a JSON summary:\n${output().slice(-4000)}`);
  }
  return { summary, simulatorCpuSeconds: reapedChildrenCpuSeconds() - cpuBefore, wallSeconds };
}
