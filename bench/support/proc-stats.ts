/**
 * CPU time and memory of a process, read from /proc (Linux). CPU times are in clock ticks
 * (USER_HZ, 100 on Linux), so one reading is good to 10 ms: measure over seconds.
 */
import { readFileSync } from 'node:fs';

const ticksPerSecond = 100;

function statCpuSeconds(file: string): number {
  const stat = readFileSync(file, 'utf8');
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** User + system CPU seconds the process (all its threads) has used so far (fields 14 and 15 of /proc/pid/stat). */
export function cpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/stat`);
}

/**
 * CPU seconds of the main thread alone (its tid is the pid). For node that is the event loop; the
 * rest of the process is libuv's pool (scrypt, async crypto, fs), V8's GC helpers and the like.
 */
export function mainThreadCpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/task/${pid}/stat`);
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(match[1]);
}

/** Resident set size now, in KiB. */
export function rssKb(pid: number): number {
  return statusKb(pid, 'VmRSS');
}

/** Highest resident set size since the process started (VmHWM), in KiB. */
export function peakRssKb(pid: number): number {
  return statusKb(pid, 'VmHWM');
}

/** CPU used by a process between two points in time. */
export class CpuMeter {
  private readonly startCpu: number;
  private readonly startMain: number;
  private readonly startedAt = performance.now();

  constructor(private readonly pid: number) {
    this.startCpu = cpuSeconds(pid);
    this.startMain = mainThreadCpuSeconds(pid);
  }

  /** CPU seconds used since construction (all threads, and the main thread alone), and the wall-clock seconds passed. */
  read(): { cpuSeconds: number; mainThreadCpuSeconds: number; wallSeconds: number } {
    return {
      cpuSeconds: cpuSeconds(this.pid) - this.startCpu,
      mainThreadCpuSeconds: mainThreadCpuSeconds(this.pid) - this.startMain,
      wallSeconds: (performance.now() - this.startedAt) / 1000,
    };
  }
}

/** Samples the RSS of a process every `intervalMs` and keeps the highest value seen. */
export class RssSampler {
  private peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs = 250,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    try {
      this.peak = Math.max(this.peak, rssKb(this.pid));
    } catch {
      // the process has exited
    }
  }

  /** Stops sampling; returns the peak RSS seen, in KiB. */
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

/** This process's own CPU seconds (the load generator's cost). */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/**
 * CPU seconds of this process's children that have exited and been reaped (cutime + cstime,
 * fields 16 and 17 of /proc/self/stat): how a child that ran to completion is measured.
 */
export function reapedChildrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / ticksPerSecond;
}
