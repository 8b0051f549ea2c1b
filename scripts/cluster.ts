/**
 * The docker-compose.yml cluster without Docker, for trying it by hand: a private redis-server
 * (persistent), the API, two brokers and two provisioner workers as separate processes on free
 * ports. Prints where everything is; Ctrl-C stops it all.
 *
 *   npm run cluster
 */
import { startCluster } from '../dev-support/cluster.ts';
import { startRedisServer } from '../dev-support/redis-server.ts';

const redis = await startRedisServer({ persistent: true });
if (!redis) {
  process.stderr.write('redis-server is not installed (apt-get install -y redis-server)\n');
  process.exit(1);
}
const cluster = await startCluster({ redisUrl: redis.url }).catch(async (error: unknown) => {
  await redis.stop();
  throw error;
});
process.stdout.write(
  [
    `redis            ${redis.url}`,
    `admin API        ${cluster.apiUrl}  (token ${cluster.adminToken})`,
    `root CA          ${cluster.rootCaFile}`,
    ...cluster.provisionUrls.map((url, i) => `broker-${i + 1}         ${url}`),
    ...cluster.processes.map((p) => `${p.name.padEnd(16)} pid ${p.endpoints['pid']}, health http://127.0.0.1:${p.endpoints['health']}/readyz`),
    '',
    `agent-sim: --broker-url ${cluster.provisionUrls.join(',')} --root-ca ${cluster.rootCaFile}`,
    '',
  ].join('\n'),
);
let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void cluster
    .close()
    .then(() => redis.stop())
    .then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
