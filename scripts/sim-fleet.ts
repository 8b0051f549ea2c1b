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
import { parseCredentialsCsv } from '../agent-sim/credentials-source.ts';
import { runFleet } from '../agent-sim/fleet.ts';

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
const headers = { authorization: `Bearer ${values.token}`, 'content-type': 'application/json' };
const count = Number(values.count);

const name = `sim-${Date.now().toString(36)}`;
const account = await fetch(`${values.api}/accounts`, { method: 'POST', headers, body: JSON.stringify({ name }) });
if (account.status !== 201) throw new Error(`account not created: HTTP ${account.status} ${await account.text()}`);
const accountId = ((await account.json()) as { id: string }).id;
const requests = Array.from({ length: count }, (_, i) => ({ accountId, clientId: `${name}-${String(i).padStart(5, '0')}` }));
const batch = await fetch(`${values.api}/provision-requests/batch`, {
  method: 'POST',
  headers: { ...headers, accept: 'text/csv' },
  body: JSON.stringify({ requests }),
});
if (batch.status !== 201) throw new Error(`requests not created: HTTP ${batch.status} ${await batch.text()}`);
const summary = await runFleet({
  credentials: parseCredentialsCsv(await batch.text()),
  concurrency: Number(values.concurrency),
  brokerUrl: values['broker-url'],
  trustedRootPem: await readFile(values['root-ca'], 'utf8'),
  stateRoot: await mkdtemp(join(tmpdir(), 'sim-fleet-')),
  settings: { timeout: 10_000, 'retry-interval': 1000, 'retry-max-attempts': 30 },
});
process.stdout.write(`${JSON.stringify(summary)}\n`);
process.exit(summary.failed === 0 ? 0 : 1);
