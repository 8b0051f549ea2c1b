import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

const cliBin = new URL('../../cli/bin.js', import.meta.url).pathname;

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRun {
  /** Arguments after `provisio`. */
  readonly args: readonly string[];
  /** The whole environment of the child (nothing of this process's leaks in, so no real config file or token). */
  readonly env: Readonly<Record<string, string>>;
  readonly stdin?: string;
}

/** Starts `provisio` (cli/bin.js) as a child process with plain node, as a user runs it. */
export function startProvisioCli(run: CliRun): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, [cliBin, ...run.args], { env: { ...run.env }, stdio: 'pipe' });
  child.stdin.end(run.stdin ?? '');
  return child;
}

/** The child's output and how it ended, once it has. Bounded: killed after `timeoutMs`. */
export function cliResult(child: ChildProcessWithoutNullStreams, timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs `provisio` to its end. */
export function runProvisioCli(run: CliRun): Promise<CliResult> {
  return cliResult(startProvisioCli(run));
}
