/**
 * The agent-sim service of docker-compose.yml (profile "sim"): creates an account and `count`
 * provision requests over the admin API, then provisions them as simulated devices, trying the
 * provision brokers of --broker-url in turn. The admin token is PROVISIO_ADMIN_TOKEN (read by the
 * configuration module), never a command-line argument: every process list would show it.
 *
 *   PROVISIO_ADMIN_TOKEN=... node dist/platform/sim-fleet.js --api http://api:8080/api/v1 \
 *     --root-ca /data/ca/root-ca.cert.pem --broker-url mqtts://broker-1:8883,mqtts://broker-2:8883 --count 100
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runFleet } from '../agent-sim/fleet.ts';
import { loadConfig } from '../config/config.ts';
import { AdminApi } from './admin-api-client.ts';

const { values } = parseArgs({
  options: {
    api: { type: 'string', default: 'http://localhost:8080/api/v1' },
    'root-ca': { type: 'string', default: 'data/ca/root-ca.cert.pem' },
    'broker-url': { type: 'string', default: 'mqtts://localhost:8883' },
    count: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '20' },
  },
});
const adminToken = loadConfig().adminToken;
if (!adminToken) {
  process.stderr.write('sim-fleet: set PROVISIO_ADMIN_TOKEN to the admin API token\n');
  process.exit(78); // EX_CONFIG
}
const count = Number(values.count);

// AdminApi creates the requests in batches the API accepts (at most 1,000 each) and checks each one.
const api = new AdminApi(values.api, adminToken);
const name = `sim-${Date.now().toString(36)}`;
const accountId = await api.createAccount(name);
const credentials = await api.createRequests(
  accountId,
  Array.from({ length: count }, (_, i) => `${name}-${String(i).padStart(5, '0')}`),
);
const summary = await runFleet({
  credentials,
  concurrency: Number(values.concurrency),
  brokerUrl: values['broker-url'],
  trustedRootPem: await readFile(values['root-ca'], 'utf8'),
  stateRoot: await mkdtemp(join(tmpdir(), 'sim-fleet-')),
  settings: { timeout: 10_000, 'retry-interval': 1000, 'retry-max-attempts': 30 },
});
process.stdout.write(`${JSON.stringify(summary)}\n`);
process.exit(summary.failed === 0 ? 0 : 1);
