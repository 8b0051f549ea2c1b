import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { loadConfig, type PlatformConfig } from '../config/config.ts';
import { isPlatformError } from '../errors/platform-error.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import { startHealthServer, type ReadinessCheck } from './health-server.ts';
import { startMetricsServer } from './metrics-server.ts';
import { startProcessMetrics } from '../metrics/metrics.ts';
import { redisTargetOptions } from '../store/redis/redis-connection.ts';

/** What a separate process (broker, provisioner, API) gives its runner once started. */
export interface RunningService {
  /** Where its listeners are, for people and for dev-support/cluster.ts (printed as JSON). */
  readonly endpoints: Readonly<Record<string, string | number>>;
  readonly checks: readonly ReadinessCheck[];
  close(): Promise<void>;
}

export type ServiceName = 'broker' | 'provisioner' | 'api';

/** Unique across a cluster: containers all run as pid 1, so the pid alone is not enough. */
export function nodeId(service: string): string {
  return `${service}-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/**
 * A Redis connection for stream work, notice channels and readiness: waits for Redis rather than
 * failing while it restarts or fails over (it follows the master through Sentinel when configured).
 */
export function serviceRedis(config: PlatformConfig, log: Logger): Redis {
  const redis = new Redis({ ...redisTargetOptions(config), maxRetriesPerRequest: null, enableReadyCheck: false });
  let lastWarned = 0;
  redis.on('error', (error: Error) => {
    if (Date.now() - lastWarned < 5000) return;
    lastWarned = Date.now();
    log.warn({ err: error.message }, 'Redis connection problem');
  });
  return redis;
}

/** Ready while Redis answers PING within a second. */
export function redisCheck(redis: Redis): ReadinessCheck {
  return async () => {
    if (redis.status !== 'ready' && redis.status !== 'connect') return `redis ${redis.status}`;
    const answer = await Promise.race([redis.ping(), new Promise<string>((resolve) => setTimeout(() => resolve('timeout'), 1000).unref())]);
    return answer === 'PONG' ? null : `redis ping: ${answer}`;
  };
}

/** Cluster processes share everything through Redis: refuse to start otherwise, naming the variables. */
function checkClusterConfig(service: ServiceName, config: PlatformConfig): string | null {
  if (config.storeBackend !== 'redis') return `provisio-${service}: PROVISIO_STORE_BACKEND must be redis (the processes share the store)`;
  if (service !== 'api' && config.brokerSharedState !== 'redis') {
    return `provisio-${service}: PROVISIO_BROKER_SHARED_STATE must be redis (the processes share one topic space)`;
  }
  return null;
}

/**
 * Runs one separate process of the platform: configuration (exit 78 when invalid), start,
 * /healthz and /readyz on PROVISIO_HEALTH_PORT, one "provisio-{service} ready {json}" line on
 * stdout, and a clean stop on SIGTERM/SIGINT.
 */
export async function runService(service: ServiceName, start: (config: PlatformConfig, log: Logger) => Promise<RunningService>): Promise<void> {
  let config: PlatformConfig;
  try {
    config = loadConfig();
  } catch (error) {
    process.stderr.write(`provisio-${service}: ${(error as Error).message}\n`);
    process.exit(78); // EX_CONFIG
  }
  const refusal = checkClusterConfig(service, config);
  if (refusal) {
    process.stderr.write(`${refusal}\n`);
    process.exit(78);
  }
  const log = createLogger(config.logLevel).child({ service });
  startProcessMetrics();
  let stopping = false;
  // Redis clients of aedes' persistence fire some commands without waiting for them; one failing
  // while Redis restarts must not take the process down.
  process.on('unhandledRejection', (reason) => log.warn({ err: reason }, 'unhandled rejection'));
  let running: RunningService;
  try {
    running = await start(config, log);
  } catch (error) {
    if (isPlatformError(error)) process.stderr.write(`provisio-${service}: ${error.message}\n`);
    else log.fatal({ err: error }, 'start-up failed');
    process.exit(1);
  }
  const health = await startHealthServer({
    host: config.bindHost,
    port: config.healthPort,
    checks: [async () => (stopping ? 'stopping' : null), ...running.checks],
    metrics: config.metricsPort === undefined,
  });
  const metrics = config.metricsPort === undefined ? null : await startMetricsServer({ host: config.bindHost, port: config.metricsPort });
  const ready = { ...running.endpoints, health: health.port, ...(metrics ? { metrics: metrics.port } : {}), pid: process.pid };
  process.stdout.write(`provisio-${service} ready ${JSON.stringify(ready)}\n`);
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    running
      .close()
      .then(() => Promise.all([health.close(), metrics?.close()]))
      .then(
        () => process.exit(0),
        (error: unknown) => {
          log.error({ err: error }, 'stopped with errors');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/** The host devices are told to use: the first public host name. */
export function publicHost(config: PlatformConfig): string {
  return config.publicHostnames[0] ?? 'localhost';
}
