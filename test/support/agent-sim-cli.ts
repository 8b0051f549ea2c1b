import { spawn } from 'node:child_process';

/** Runs `agent-sim` (agent-sim/bin.js) as a child process with plain node; resolves when it exits. */
export function runAgentSimCli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [new URL('../../agent-sim/bin.js', import.meta.url).pathname, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
