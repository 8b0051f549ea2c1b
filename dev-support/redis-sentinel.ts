import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Redis } from 'ioredis';
import { distinctFreePorts } from './ports.ts';
import { announceMissingRedis, findRedisServerBinary, launchRedisProcess, terminate } from './redis-server.ts';

/**
 * A real replicated Redis for tests: a master, two replicas and three Sentinels (quorum 2), all
 * processes of the test on free ports of 127.0.0.1. The failover test kills the master with -9
 * and lets the Sentinels promote a replica, as they would in production; no mocks. Two replicas,
 * so that one is still there after the failover (PROVISIO_REDIS_WAIT_REPLICAS=1 needs one).
 */
export interface RedisSentinelGroup {
  readonly masterName: string;
  /** host:port of each Sentinel, as PROVISIO_REDIS_SENTINELS takes them. */
  readonly sentinels: readonly string[];
  /** The settings pointing the platform at the group, as loadConfig overrides. */
  readonly config: { readonly redisUrl: string; readonly redisSentinels: readonly string[]; readonly redisSentinelName: string };
  /** The same as PROVISIO_* variables, for processes (dev-support/cluster.ts `env`). */
  readonly env: Readonly<Record<string, string>>;
  /** Port of the master the Sentinels name now. */
  masterPort(): Promise<number>;
  /**
   * kill -9 of the master the Sentinels name now. Says its port and how far the replicas were
   * behind it: the master's replication offset read just before the kill minus the highest of the
   * replicas' just after (bytes of the replication stream; more than 0 = writes the master
   * acknowledged that no replica has). With replicaStoppedMs the replicas are first stopped
   * (SIGSTOP) and cut off for that long, so the master's last writes of that time are certainly
   * lost, as on a slow network; they go on after the kill.
   */
  killMaster(options?: { readonly replicaStoppedMs?: number }): Promise<{ readonly port: number; readonly unreplicatedBytes: number }>;
  /** Waits until the Sentinels name another master than `formerPort` and it answers as master; its port. */
  promotedMaster(formerPort: number, timeoutMs?: number): Promise<number>;
  /** Stops every process still running and removes their files. */
  stop(): Promise<void>;
}

const masterName = 'provisio-test';
/** How long the master must be silent before the Sentinels call it down: short, for a quick test. */
const downAfterMs = 1000;

/**
 * How to run a Sentinel: Debian's `redis-sentinel` (package redis-sentinel) if installed, else
 * `redis-server --sentinel`, which is the same program (redis-sentinel is redis-server under
 * another name); null when neither is there.
 */
function sentinelCommand(): { binary: string; args: (configFile: string) => string[] } | null {
  for (const dir of ['/usr/bin', ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)]) {
    const candidate = join(dir, 'redis-sentinel');
    try {
      accessSync(candidate, constants.X_OK);
      return { binary: candidate, args: (configFile) => [configFile] };
    } catch {
      // not here
    }
  }
  const server = findRedisServerBinary();
  return server ? { binary: server, args: (configFile) => [configFile, '--sentinel'] } : null;
}

/**
 * For a test file: starts the group, or explains why the Sentinel tests are skipped (redis-server
 * missing). With PROVISIO_TEST_REQUIRE_REDIS=1 (CI) a missing binary fails instead.
 */
export async function startRedisSentinelGroupOrSkip(): Promise<RedisSentinelGroup | null> {
  const server = findRedisServerBinary();
  const sentinel = sentinelCommand();
  if (!server || !sentinel) {
    announceMissingRedis();
    return null;
  }
  const [masterPort = 0, ...otherPorts] = await distinctFreePorts(6);
  const dataPorts = [masterPort, ...otherPorts.slice(0, 2)];
  const sentinelPorts = otherPorts.slice(2);
  const dir = mkdtempSync(join(tmpdir(), 'provisio-redis-sentinel-'));
  const byPort = new Map<number, ChildProcess>();
  const clients = new Map<number, Redis>();
  /** One connection per process, made again once closed (Sentinel closes clients of the instances it reconfigures). */
  const client = (port: number): Redis => {
    const existing = clients.get(port);
    if (existing && existing.status !== 'end') return existing;
    const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    redis.on('error', () => undefined);
    clients.set(port, redis);
    return redis;
  };
  const group = {
    masterName,
    sentinels: sentinelPorts.map((port) => `127.0.0.1:${port}`),
    async stop() {
      for (const redis of clients.values()) redis.disconnect();
      await Promise.all([...byPort.values()].map((child) => terminate(child)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    const serverArgs = (port: number) => {
      const nodeDir = join(dir, `redis-${port}`);
      mkdirSync(nodeDir);
      return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', nodeDir];
    };
    byPort.set(masterPort, await launchRedisProcess(server, serverArgs(masterPort), masterPort));
    for (const port of dataPorts.slice(1)) {
      byPort.set(port, await launchRedisProcess(server, [...serverArgs(port), '--replicaof', '127.0.0.1', String(masterPort)], port));
      await until(`the replica on ${port} in sync`, async () => /master_link_status:up/.test(await client(port).info('replication')));
    }
    for (const port of sentinelPorts) {
      const sentinelDir = join(dir, `sentinel-${port}`);
      mkdirSync(sentinelDir);
      // Sentinel rewrites its configuration file (what it learns of replicas and other Sentinels).
      const configFile = join(sentinelDir, 'sentinel.conf');
      writeFileSync(
        configFile,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${sentinelDir}`,
          `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
          `sentinel failover-timeout ${masterName} 10000`,
          `sentinel parallel-syncs ${masterName} 1`,
          '',
        ].join('\n'),
      );
      byPort.set(port, await launchRedisProcess(sentinel.binary, sentinel.args(configFile), port));
    }
    // A failover needs every Sentinel to know the replicas and the other two (hello messages, ~2 s).
    for (const port of sentinelPorts) {
      await until(`Sentinel ${port} knowing the replicas and the other Sentinels`, async () => {
        const fields = (await client(port).call('SENTINEL', 'MASTER', masterName)) as string[];
        const field = (name: string) => Number(fields[fields.indexOf(name) + 1]);
        return field('num-slaves') === 2 && field('num-other-sentinels') === 2;
      });
    }
  } catch (error) {
    await group.stop();
    throw error;
  }
  const currentMasterPort = async (): Promise<number> => {
    const [, port] = (await client(sentinelPorts[0] ?? 0).call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)) as [string, string];
    return Number(port);
  };
  const replicationOffset = async (port: number, field: 'master_repl_offset' | 'slave_repl_offset'): Promise<number> => {
    const info = await client(port).info('replication');
    return Number(new RegExp(`${field}:(\\d+)`).exec(info)?.[1] ?? NaN);
  };
  const config = { redisUrl: unusedUrl, redisSentinels: group.sentinels, redisSentinelName: masterName };
  return {
    ...group,
    config,
    env: { PROVISIO_REDIS_URL: unusedUrl, PROVISIO_REDIS_SENTINELS: group.sentinels.join(','), PROVISIO_REDIS_SENTINEL_NAME: masterName },
    masterPort: currentMasterPort,
    async killMaster(options = {}) {
      const port = await currentMasterPort();
      const master = byPort.get(port);
      if (!master) throw new Error(`no process of this group on port ${port}`);
      const replicas = dataPorts.filter((candidate) => candidate !== port && byPort.has(candidate));
      if (options.replicaStoppedMs) {
        // Stopped, and their links cut from the master's side: what the master writes from now on
        // stays in the master (without the cut, the kernel's socket buffers would hand it over later).
        for (const replica of replicas) byPort.get(replica)?.kill('SIGSTOP');
        await client(port).call('CLIENT', 'KILL', 'TYPE', 'replica');
        await new Promise((resolve) => setTimeout(resolve, options.replicaStoppedMs));
      }
      const masterOffset = await replicationOffset(port, 'master_repl_offset');
      master.kill('SIGKILL');
      if (options.replicaStoppedMs) for (const replica of replicas) byPort.get(replica)?.kill('SIGCONT');
      await new Promise<void>((resolve) => (master.exitCode !== null || master.signalCode !== null ? resolve() : master.once('exit', () => resolve())));
      byPort.delete(port);
      const replicaOffsets = await Promise.all(replicas.map((replica) => replicationOffset(replica, 'slave_repl_offset')));
      return { port, unreplicatedBytes: Math.max(0, masterOffset - Math.max(...replicaOffsets)) };
    },
    async promotedMaster(formerPort, timeoutMs = 30_000) {
      let promoted = 0;
      await until(
        'a replica promoted by the Sentinels',
        async () => {
          promoted = await currentMasterPort();
          return promoted !== formerPort && /role:master/.test(await client(promoted).info('replication'));
        },
        timeoutMs,
      );
      return promoted;
    },
  };
}

/** With Sentinels, the host and port of the URL are never used: a closed port shows it. */
const unusedUrl = 'redis://127.0.0.1:1';

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
