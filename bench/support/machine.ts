/** The machine a result came from, recorded beside every figure. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { benchSettings } from './bench-settings.ts';

export interface MachineInfo {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly mosquitto: string | null;
  /** The code measured: HEAD and the files changed in the working tree (read-only git commands). */
  readonly git: { readonly head: string | null; readonly changedFiles: readonly string[] };
}

function gitState(): MachineInfo['git'] {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  const status = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' });
  return {
    head: head.status === 0 ? head.stdout.trim() : null,
    changedFiles:
      status.status === 0
        ? status.stdout
            .split('\n')
            .filter(Boolean)
            .map((line) => line.slice(3))
        : [],
  };
}

function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return match?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  } catch {
    return os.cpus()[0]?.model ?? 'unknown';
  }
}

/** `mosquitto -h` prints "mosquitto version 2.0.11" on its first line. */
export function mosquittoVersion(binary = benchSettings.mosquittoBinary): string | null {
  const result = spawnSync(binary, ['-h'], { encoding: 'utf8' });
  const match = /mosquitto version (\S+)/.exec(`${result.stdout ?? ''}${result.stderr ?? ''}`);
  return match?.[1] ?? null;
}

export function machineInfo(): MachineInfo {
  return {
    cores: os.availableParallelism(),
    cpuModel: cpuModel(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    mosquitto: mosquittoVersion(),
    git: gitState(),
  };
}
