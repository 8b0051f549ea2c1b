import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { freePort } from './ports.ts';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';

/**
 * A real redis-server for tests, on a free port of 127.0.0.1, owned by the test process.
 * No mocks: the Redis store is tested against the server it will run against.
 */
export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Stops the server and removes its files. */
  stop(): Promise<void>;
  /**
   * Persistent servers only: stops the process gracefully (data kept on disk), runs `whileDown`
   * while Redis is gone, and starts it again on the same port with the same data.
   */
  restart?(whileDown?: () => Promise<void>): Promise<void>;
}

export interface RedisServerOptions {
  /** Append-only file in a temp dir, so the data survives restart(). */
  readonly persistent?: boolean;
}

export const redisRequiredEnvName = 'PROVISIO_TEST_REQUIRE_REDIS';
const installHint = 'apt-get install -y redis-server';

export function findRedisServerBinary(): string | null {
  const candidates = [
    '/usr/bin/redis-server',
    ...(process.env.PATH ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((dir) => join(dir, 'redis-server')),
  ];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** Starts redis-server, or answers null when it is not installed. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer | null> {
  const binary = findRedisServerBinary();
  if (!binary) return null;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'provisio-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--appendonly', options.persistent ? 'yes' : 'no'];
  let child = await launchRedisProcess(binary, args, port);
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      await terminate(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (!options.persistent) return server;
  return {
    ...server,
    async restart(whileDown) {
      await terminate(child);
      try {
        await whileDown?.();
      } finally {
        child = await launchRedisProcess(binary, args, port);
      }
    },
  };
}

/** Loud, once per process: a skipped Redis suite must not pass unnoticed. */
let warned = false;

/**
 * For a test file: starts redis-server, or explains why the Redis tests are skipped. When
 * PROVISIO_TEST_REQUIRE_REDIS=1 (CI) a missing redis-server fails instead.
 */
export async function startRedisOrSkip(options: RedisServerOptions = {}): Promise<RedisServer | null> {
  const server = await startRedisServer(options);
  if (!server) announceMissingRedis();
  return server;
}

/** For one test: skips it (loudly) unless the server is there. */
export function requireRedisOrSkip(t: TestContext, server: RedisServer | null): server is RedisServer {
  if (server) return true;
  announceMissingRedis();
  t.skip(`redis-server is not installed (${installHint})`);
  return false;
}

export function announceMissingRedis(): void {
  if (process.env[redisRequiredEnvName] === '1') {
    throw new Error(`redis-server is not installed but ${redisRequiredEnvName}=1 requires the Redis tests: ${installHint}`);
  }
  if (warned) return;
  warned = true;
  const banner = '!'.repeat(78);
  console.warn(
    [
      banner,
      '!!  REDIS TESTS SKIPPED: redis-server is not installed.',
      `!!  The Redis store is NOT tested in this run. Install it with:  ${installHint}`,
      `!!  (set ${redisRequiredEnvName}=1 to make this a failure, as CI does)`,
      banner,
    ].join('\n'),
  );
}

const liveServers = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveServers) child.kill('SIGKILL');
});

/** Starts a redis-server (or Sentinel) process and waits until it answers PING on `port`; SIGKILLed if the test process exits first. */
export async function launchRedisProcess(binary: string, args: readonly string[], port: number): Promise<ChildProcess> {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  liveServers.add(child);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  child.once('exit', () => {
    exited = true;
    liveServers.delete(child);
  });
  const deadline = Date.now() + 10_000;
  while (!(await answersPing(port))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${binary} did not start on port ${port}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return child;
}

/** SIGTERM, SIGKILL after 5 s; resolves once the process has exited. */
export function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** One PING over a raw socket: no client library, no reconnection logic to wait for. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}
