/**
 * The all-in-one platform as a separate process (`node --import tsx platform/main.ts`), for the
 * fault suites: it can be killed with SIGKILL or SIGTERM and started again on the same data
 * directory and ports. Every process started here is killed when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { distinctFreePorts } from '../../dev-support/ports.ts';

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface PlatformPorts {
  readonly mqtt: number;
  readonly mqtts: number;
  readonly account: number;
  readonly http: number;
}

export async function freePlatformPorts(): Promise<PlatformPorts> {
  const [mqtt = 0, mqtts = 0, account = 0, http = 0] = await distinctFreePorts(4);
  return { mqtt, mqtts, account, http };
}

export interface PlatformProcess {
  readonly child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal name) once it has exited. */
  readonly exited: Promise<string>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface StartOptions {
  readonly dataDir: string;
  readonly ports: PlatformPorts;
  readonly adminToken: string;
  readonly env?: Record<string, string>;
  /** Wait for the "provisio is running" line (default); false: return at once (for start-up failures). */
  readonly waitUntilRunning?: boolean;
  readonly timeoutMs?: number;
}

export function platformEnv(options: Pick<StartOptions, 'dataDir' | 'ports' | 'adminToken' | 'env'>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    PROVISIO_DATA_DIR: options.dataDir,
    PROVISIO_BIND_HOST: '127.0.0.1',
    PROVISIO_PROVISION_MQTT_PORT: String(options.ports.mqtt),
    PROVISIO_PROVISION_MQTTS_PORT: String(options.ports.mqtts),
    PROVISIO_ACCOUNT_MQTTS_PORT: String(options.ports.account),
    PROVISIO_HTTP_PORT: String(options.ports.http),
    PROVISIO_DISCOVERY_PORT: '0',
    PROVISIO_ADMIN_TOKEN: options.adminToken,
    PROVISIO_LOG_LEVEL: 'warn',
    PROVISIO_AUTH_FAILURE_DELAY_MS: '0',
    PROVISIO_AUTH_FAILURE_LIMIT: '1000',
    PROVISIO_AUTH_ADDRESS_FAILURE_LIMIT: '100000',
    ...options.env,
  };
}

export async function startPlatformProcess(options: StartOptions): Promise<PlatformProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'platform/main.ts'], {
    cwd: repositoryRoot,
    env: platformEnv(options),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve(signal ?? String(code));
    }),
  );
  const running: PlatformProcess = { child, output: () => output, exited };
  if (options.waitUntilRunning === false) return running;
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (!output.includes('provisio is running')) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the platform exited at start:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the platform did not start within ${options.timeoutMs ?? 60_000} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return running;
}

/** Sends `signal` and waits for the exit; SIGKILL after `graceMs` if it is still there. */
export async function stopPlatformProcess(running: PlatformProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 20_000): Promise<string> {
  if (running.child.exitCode !== null || running.child.signalCode !== null) return running.exited;
  running.child.kill(signal);
  const timer = setTimeout(() => running.child.kill('SIGKILL'), graceMs);
  try {
    return await running.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** The admin API of a platform process, called with the admin token (JSON in, any `accept`). */
export function adminApiOf(ports: Pick<PlatformPorts, 'http'>, adminToken: string) {
  return (method: string, path: string, body?: unknown, accept = 'application/json'): Promise<Response> =>
    fetch(`http://127.0.0.1:${ports.http}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, accept, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
}
