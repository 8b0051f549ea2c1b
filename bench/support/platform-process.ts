/**
 * The all-in-one platform (platform/main.ts) as a separate process, as an operator runs it: a
 * fresh temporary data directory, every listener on a free loopback port (port 0, read back from
 * what it prints), a known admin token. Its pid is the node process itself (no wrapper), so
 * /proc readings are the platform's own.
 */
import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { benchSettings, childEnvironment } from './bench-settings.ts';
import { captureOutput, spawnTracked, stopChild } from './children.ts';
import { gcDoneMarker } from './gc-preload.ts';
import { repoRoot } from './repo.ts';
import { makeTempDir } from './temp-dirs.ts';

export const benchAdminToken = 'bench-admin-token-0123456789abcdef';

export interface PlatformProcessOptions {
  /** Platform log level; `warn` by default so that logging is not what is measured. */
  readonly logLevel?: string;
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir', DIR]. */
  readonly nodeArgs?: readonly string[];
  /** Load bench/support/gc-preload.ts so that gc() can force a collection. */
  readonly gcHook?: boolean;
  /** Start on this data directory (kept at stop) instead of a fresh temporary one. */
  readonly dataDir?: string;
  /** More PROVISIO_* variables. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface PlatformProcess {
  readonly pid: number;
  readonly dataDir: string;
  readonly provisionTcpPort: number;
  readonly provisionTlsPort: number;
  readonly accountTlsPort: number;
  readonly apiUrl: string;
  readonly adminToken: string;
  readonly rootCaFile: string;
  readonly caDir: string;
  /** Full garbage collection in the platform (needs gcHook). */
  gc(): Promise<void>;
  /** SIGTERM (clean shutdown, so --cpu-prof writes its profile), then removes a data directory of its own. */
  stop(): Promise<void>;
}

function portOf(url: string | undefined, name: string, output: string): number {
  const port = url ? Number(new URL(url).port) : NaN;
  if (!Number.isInteger(port) || port <= 0) throw new Error(`the platform did not print its ${name}:\n${output}`);
  return port;
}

/** Waits for the endpoint lines main.ts prints once every listener is up. */
function waitForEndpoints(child: ChildProcess, output: () => string, timeoutMs: number): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const endpoints = new Map<string, string>();
    const timer = setTimeout(() => finish(new Error(`the platform did not start within ${timeoutMs} ms:\n${output()}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const match = /^ {2}(\S.*?)\s{2,}(\S+)$/.exec(line);
        if (match) endpoints.set(match[1]!, match[2]!);
        if (endpoints.has('root CA')) finish(null);
      }
    };
    const onExit = (code: number | null): void => finish(new Error(`the platform exited (${code}) while starting:\n${output()}`));
    function finish(error: Error | null): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(endpoints);
    }
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

export async function startPlatformProcess(options: PlatformProcessOptions = {}): Promise<PlatformProcess> {
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? makeTempDir('provisio-bench-platform-');
  const nodeArgs = [...(options.nodeArgs ?? [])];
  if (options.gcHook) nodeArgs.push('--expose-gc');
  nodeArgs.push('--import', 'tsx');
  if (options.gcHook) nodeArgs.push('--import', './bench/support/gc-preload.ts');
  const child = spawnTracked(process.execPath, [...nodeArgs, 'platform/main.ts'], {
    cwd: repoRoot,
    env: childEnvironment({
      PROVISIO_DATA_DIR: dataDir,
      PROVISIO_BIND_HOST: '127.0.0.1',
      PROVISIO_HTTP_PORT: '0',
      PROVISIO_DISCOVERY_PORT: '0',
      PROVISIO_PROVISION_MQTT_PORT: '0',
      PROVISIO_PROVISION_MQTTS_PORT: '0',
      PROVISIO_ACCOUNT_MQTTS_PORT: '0',
      PROVISIO_ADMIN_TOKEN: benchAdminToken,
      PROVISIO_LOG_LEVEL: options.logLevel ?? 'warn',
      // Every benchmark client connects from 127.0.0.1, thousands at once: lift the per-address bound (issue 12 §3) knowingly.
      PROVISIO_MQTT_CONNECTIONS_PER_ADDRESS: '1000000',
      ...options.env,
    }),
  });
  const output = captureOutput(child);
  // For debugging a run: BENCH_PLATFORM_OUTPUT=FILE keeps everything the platform printed.
  const keep = benchSettings.platformOutputFile;
  if (keep) {
    const file = createWriteStream(keep, { flags: 'a' });
    child.stdout?.pipe(file);
    child.stderr?.pipe(file);
  }
  let stopping = false;
  const stop = async (): Promise<void> => {
    stopping = true;
    await stopChild(child, 30_000);
    if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const endpoints = await waitForEndpoints(child, output, 60_000);
    // A platform that dies under load makes every later figure meaningless: stop the benchmark at once.
    child.once('exit', (code, signal) => {
      if (stopping) return;
      process.stderr.write(`\nthe platform exited unexpectedly (${code ?? signal}) during the benchmark; its last output:\n${output().slice(-8000)}\n`);
      process.exit(1);
    });
    const pid = child.pid!;
    const text = output();
    return {
      pid,
      dataDir,
      provisionTcpPort: portOf(endpoints.get('provision broker (TCP)'), 'provision broker (TCP)', text),
      provisionTlsPort: portOf(endpoints.get('provision broker (TLS)'), 'provision broker (TLS)', text),
      accountTlsPort: portOf(endpoints.get('account broker (mutual TLS)'), 'account broker', text),
      apiUrl: `http://127.0.0.1:${portOf(endpoints.get('admin API'), 'admin API', text)}/api/v1`,
      adminToken: benchAdminToken,
      rootCaFile: path.join(dataDir, 'ca', 'root-ca.cert.pem'),
      caDir: path.join(dataDir, 'ca'),
      gc: () => {
        if (!options.gcHook) return Promise.resolve();
        return new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('the platform did not answer the GC signal')), 10_000);
          const onData = (chunk: Buffer): void => {
            if (!chunk.toString().includes(gcDoneMarker)) return;
            clearTimeout(timer);
            child.stderr?.off('data', onData);
            resolve();
          };
          child.stderr?.on('data', onData);
          child.kill('SIGUSR2');
        });
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
