import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distinctFreePorts } from './ports.ts';

/**
 * The cluster of docker-compose.yml without Docker: the API, broker and provisioner entry points
 * (platform/*-main.ts) as separate node processes on free loopback ports, one shared data
 * directory (the CA files) and one Redis. Used by test/cluster-*.test.ts and by hand:
 *
 *   node --import tsx scripts/cluster.ts    (prints the endpoints, Ctrl-C stops everything)
 */
export type ServiceKind = 'api' | 'broker' | 'provisioner';

export interface ClusterProcess {
  readonly name: string;
  readonly kind: ServiceKind;
  /** What the process printed in its "ready" line: ports, health port, pid. */
  readonly endpoints: Readonly<Record<string, string | number>>;
  readonly child: ChildProcess;
  /** The last lines it wrote, for failure messages. */
  output(): string;
  /** SIGKILL, and wait for the exit. */
  kill9(): Promise<void>;
  /** SIGTERM (SIGKILL after 5 s), and wait for the exit. */
  stop(): Promise<void>;
}

export interface Cluster {
  readonly dataDir: string;
  readonly adminToken: string;
  readonly apiUrl: string;
  /** http://127.0.0.1:{port}/api/v1 of each API process, in start order (apiUrl first). */
  readonly apiUrls: readonly string[];
  readonly rootCaFile: string;
  readonly processes: readonly ClusterProcess[];
  /** mqtts://localhost:{port} of each broker's provision listener, in start order. */
  readonly provisionUrls: readonly string[];
  byName(name: string): ClusterProcess;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers, read field by field by the caller
  api<T = any>(method: string, path: string, body?: unknown, accept?: string): Promise<{ status: number; body: T; text: string }>;
  /** Everything the processes wrote (last lines of each), for failure messages. */
  logs(): string;
  /** Stops every process still running (SIGTERM, then SIGKILL) and removes the data directory. */
  close(): Promise<void>;
}

export interface ClusterOptions {
  readonly redisUrl: string;
  readonly brokers?: number;
  readonly provisioners?: number;
  /** API processes sharing the store (default 1): 'api', then 'api-2', … on ports of their own. */
  readonly apis?: number;
  /** Extra PROVISIO_* variables for every process. */
  readonly env?: Readonly<Record<string, string>>;
  /** Which broker's account listener devices are sent to (index into the brokers); default 0. */
  readonly accountBrokerIndex?: number;
}

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const clusterAdminToken = 'cluster-admin-token-0123456789abcdef';
const entryPoints: Record<ServiceKind, string> = {
  api: 'platform/api-main.ts',
  broker: 'platform/broker-main.ts',
  provisioner: 'platform/provisioner-main.ts',
};

/** Every child of every cluster of this test process: SIGKILLed if the test process exits first. */
const everyChild = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of everyChild) child.kill('SIGKILL');
});

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function launch(name: string, kind: ServiceKind, env: Record<string, string>): Promise<ClusterProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', entryPoints[kind]], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  everyChild.add(child);
  child.once('exit', () => everyChild.delete(child));
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString()).slice(-6000);
  };
  child.stderr?.on('data', keep);
  return new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within 60 s:\n${tail}`));
    }, 60_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited during start-up (${code ?? signal}):\n${tail}`));
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      keep(chunk);
      stdout += chunk.toString();
      const line = stdout.split('\n').find((candidate) => candidate.startsWith(`provisio-${kind} ready `));
      if (!line) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.once('exit', () => everyChild.delete(child));
      stdout = '';
      const endpoints = JSON.parse(line.slice(`provisio-${kind} ready `.length)) as Record<string, string | number>;
      resolve({
        name,
        kind,
        endpoints,
        child,
        output: () => tail,
        async kill9() {
          child.kill('SIGKILL');
          await exited(child);
        },
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const force = setTimeout(() => child.kill('SIGKILL'), 5000);
          child.kill('SIGTERM');
          await exited(child);
          clearTimeout(force);
        },
      });
    });
  });
}

/**
 * Starts the API (it creates the CA), then the brokers and the provisioners side by side. A port
 * taken by someone else between choosing and binding it (EADDRINUSE) means a new try on new ports.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startClusterOnce(options);
    } catch (error) {
      if (attempt >= 3 || !/EADDRINUSE/.test(String((error as Error).message))) throw error;
    }
  }
}

async function startClusterOnce(options: ClusterOptions): Promise<Cluster> {
  const dataDir = await mkdtemp(join(tmpdir(), 'provisio-cluster-'));
  const brokerCount = options.brokers ?? 2;
  const provisionerCount = options.provisioners ?? 2;
  const apiCount = options.apis ?? 1;
  const [httpPort = 0, ...otherPorts] = await distinctFreePorts(apiCount + 2 * brokerCount);
  const extraApiPorts = otherPorts.slice(0, apiCount - 1);
  const listenerPorts = otherPorts.slice(apiCount - 1);
  const brokerPorts = Array.from({ length: brokerCount }, (_, i) => ({ mqtts: listenerPorts[2 * i] ?? 0, account: listenerPorts[2 * i + 1] ?? 0 }));
  const accountPort = brokerPorts[options.accountBrokerIndex ?? 0]?.account ?? 0;
  const common: Record<string, string> = {
    PROVISIO_DATA_DIR: dataDir,
    PROVISIO_STORE_BACKEND: 'redis',
    PROVISIO_REDIS_URL: options.redisUrl,
    PROVISIO_BROKER_SHARED_STATE: 'redis',
    PROVISIO_BIND_HOST: '127.0.0.1',
    PROVISIO_HEALTH_PORT: '0',
    PROVISIO_HTTP_PORT: String(httpPort),
    PROVISIO_DISCOVERY_PORT: '0',
    PROVISIO_PUBLIC_HTTP_URL: `http://127.0.0.1:${httpPort}`,
    PROVISIO_ACCOUNT_BROKER_URL: `mqtts://localhost:${accountPort}`,
    PROVISIO_ADMIN_TOKEN: clusterAdminToken,
    PROVISIO_INTERNAL_PASSWORD: 'cluster-internal-password-0123456789',
    PROVISIO_LOG_LEVEL: 'warn',
    PROVISIO_AUTH_FAILURE_DELAY_MS: '0',
    PROVISIO_PROVISION_MQTT_ENABLED: 'false',
    ...options.env,
  };
  const processes: ClusterProcess[] = [];
  const cluster: Cluster = {
    dataDir,
    adminToken: clusterAdminToken,
    apiUrl: `http://127.0.0.1:${httpPort}/api/v1`,
    apiUrls: [httpPort, ...extraApiPorts].map((port) => `http://127.0.0.1:${port}/api/v1`),
    rootCaFile: join(dataDir, 'ca', 'root-ca.cert.pem'),
    processes,
    provisionUrls: brokerPorts.map((ports) => `mqtts://localhost:${ports.mqtts}`),
    byName(name) {
      const found = processes.find((candidate) => candidate.name === name);
      if (!found) throw new Error(`no process ${name}`);
      return found;
    },
    async api(method, path, body, accept) {
      const response = await fetch(`${cluster.apiUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${clusterAdminToken}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(accept ? { accept } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      const json = /json/.test(response.headers.get('content-type') ?? '') && text ? JSON.parse(text) : text;
      return { status: response.status, body: json, text };
    },
    logs: () => processes.map((process) => `--- ${process.name}\n${process.output()}`).join('\n'),
    async close() {
      await Promise.all(processes.map((process) => process.stop()));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  try {
    processes.push(await launch('api', 'api', common));
    const launches = await Promise.allSettled([
      ...brokerPorts.map((ports, index) =>
        launch(`broker-${index + 1}`, 'broker', {
          ...common,
          PROVISIO_PROVISION_MQTTS_PORT: String(ports.mqtts),
          PROVISIO_ACCOUNT_MQTTS_PORT: String(ports.account),
        }),
      ),
      ...Array.from({ length: provisionerCount }, (_, index) => launch(`provisioner-${index + 1}`, 'provisioner', common)),
      ...extraApiPorts.map((port, index) => launch(`api-${index + 2}`, 'api', { ...common, PROVISIO_HTTP_PORT: String(port) })),
    ]);
    for (const launched of launches) if (launched.status === 'fulfilled') processes.push(launched.value);
    const failed = launches.find((launched): launched is PromiseRejectedResult => launched.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (error) {
    await cluster.close();
    throw error;
  }
  return cluster;
}
