/**
 * The agent-sim service of docker-compose.yml (profile "sim"): creates an account and `count`
 * provision requests over the admin API, then provisions them as simulated devices, trying the
 * provision brokers of --broker-url in turn.
 *
 *   node --import tsx scripts/sim-fleet.ts --api http://api:8080/api/v1 --token TOKEN \
 *     --root-ca /data/ca/root-ca.cert.pem --broker-url mqtts://broker-1:8883,mqtts://broker-2:8883 --count 100
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runFleet } from '../agent-sim/fleet.ts';
import { AdminApi } from '../bench/support/admin-api.ts';

const { values } = parseArgs({
  options: {
    api: { type: 'string', default: 'http://localhost:8080/api/v1' },
    token: { type: 'string' },
    'root-ca': { type: 'string', default: 'data/ca/root-ca.cert.pem' },
    'broker-url': { type: 'string', default: 'mqtts://localhost:8883' },
    count: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '20' },
  },
});
if (!values.token) throw new Error('--token: the admin API token is required');
const count = Number(values.count);

// AdminApi creates the requests in batches the API accepts (at most 1,000 each) and checks each one.
const api = new AdminApi(values.api, values.token);
const name = `sim-${Date.now().toString(36)}`;
const accountId = await api.createAccount(name);
const credentials = await api.createRequests(accountId, Array.from({ length: count }, (_, i) => `${name}-${String(i).padStart(5, '0')}`));
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
