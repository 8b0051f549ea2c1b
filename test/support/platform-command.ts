/** Runs one of the platform's operator commands (`npm run ca`, `npm run secrets`) as a process, as an operator would. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const scripts = { ca: 'platform/ca-command.ts', secrets: 'platform/secrets-command.ts' } as const;

export interface CommandResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The command with `args`, configured only by `settings` (PROVISIO_* variables; the test's own are not passed on). */
export function runPlatformCommand(command: keyof typeof scripts, args: readonly string[], settings: Record<string, string>): Promise<CommandResult> {
  const environment = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PROVISIO_')));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', scripts[command], ...args], { cwd: root, env: { ...environment, ...settings } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}
