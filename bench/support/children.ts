/**
 * Every process a benchmark starts is registered here and killed when the benchmark ends,
 * whether it ends normally, with an error or with a signal. Kills go to the registered pids only.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const running = new Set<ChildProcess>();
let hooksInstalled = false;

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null && child.pid !== undefined;
}

/** Signals every registered child that is still running (by its pid). */
function signalAll(signal: NodeJS.Signals): void {
  for (const child of running) {
    if (!alive(child)) continue;
    try {
      process.kill(child.pid!, signal);
    } catch {
      // already gone
    }
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // SIGTERM, not SIGKILL: a child benchmark then stops its own children (platform, mosquitto, agent-sim).
  process.on('exit', () => signalAll('SIGTERM'));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      signalAll('SIGTERM');
      const deadline = Date.now() + 10_000;
      const timer = setInterval(() => {
        if ([...running].some(alive) && Date.now() < deadline) return;
        clearInterval(timer);
        signalAll('SIGKILL');
        process.exit(130);
      }, 100);
    });
  }
}

/** Spawns a child and registers it for clean-up. */
export function spawnTracked(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  installHooks();
  const child = spawn(command, [...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** Resolves with the exit code (or signal name) once the child has exited. */
export function exited(child: ChildProcess): Promise<number | string> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child is gone. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<number | string> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return exited(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    return await exited(child);
  } finally {
    clearTimeout(timer);
  }
}

/** Collects a child's output (bounded) for error messages. */
export function captureOutput(child: ChildProcess, limit = 64 * 1024): () => string {
  let text = '';
  const append = (chunk: Buffer): void => {
    text += chunk.toString();
    if (text.length > limit) text = text.slice(-limit);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return () => text;
}
