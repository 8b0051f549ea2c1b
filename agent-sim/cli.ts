import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readCredentialsFile } from './credentials-source.ts';
import { runDevice } from './device-agent.ts';
import { DeviceState } from './device-state.ts';
import { runFleet } from './fleet.ts';
import { ProgressBar } from './progress-bar.ts';
import { settingsFor, type AgentSettings } from './settings.ts';

const usage = `agent-sim: the reference device agent (docs/PROTOCOL.md)

  agent-sim device --state-dir DIR [settings] [--factory-reset] [--json]
      One device. Its state directory is its flash: a provisioned device goes straight to its
      account broker; --factory-reset provisions it again.
  agent-sim fleet --credentials FILE.csv|FILE.json --root-ca FILE [--count N] [--concurrency C] [--state-root DIR] [settings] [--json]
      Many devices, credentials from the admin API's CSV export or a JSON file. Each keeps its
      state in DIR/{clientId} (default: a new temporary directory); the CA files every device
      gets are hard links to one copy in DIR/@shared.

Settings (ESF names): --broker-url URL  --account-name NAME  --client-id ID  --username U
  --password P  --activation-key K  --mac MAC  --serial S  --timeout MS  --retry-interval MS
  --retry-max-attempts N (-1 = forever)  --root-ca FILE  --no-ca-authentication  --no-csr
  The client id defaults to the MAC without ':', the user name to the client id (as the admin
  API creates a request without one).
`;

const options = {
  'state-dir': { type: 'string' },
  'state-root': { type: 'string' },
  credentials: { type: 'string' },
  count: { type: 'string' },
  concurrency: { type: 'string', default: '50' },
  'root-ca': { type: 'string' },
  'broker-url': { type: 'string' },
  'account-name': { type: 'string' },
  'client-id': { type: 'string' },
  username: { type: 'string' },
  password: { type: 'string' },
  'activation-key': { type: 'string' },
  mac: { type: 'string' },
  serial: { type: 'string' },
  timeout: { type: 'string' },
  'retry-interval': { type: 'string' },
  'retry-max-attempts': { type: 'string' },
  'no-ca-authentication': { type: 'boolean', default: false },
  'no-csr': { type: 'boolean', default: false },
  'factory-reset': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>['values'];

function integer(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) throw new Error(`--${name} takes a whole number, not ${value}`);
  return Number(value);
}

function settingOverrides(values: Values): Partial<AgentSettings> {
  const overrides: Record<string, unknown> = {};
  for (const key of ['broker-url', 'account-name', 'client-id', 'username', 'password', 'activation-key'] as const) {
    if (values[key] !== undefined) overrides[key] = values[key];
  }
  for (const key of ['timeout', 'retry-interval', 'retry-max-attempts'] as const) {
    const parsed = integer(values[key], key);
    if (parsed !== undefined) overrides[key] = parsed;
  }
  if (values['no-ca-authentication']) overrides['ca-authentication'] = false;
  if (values['no-csr']) overrides['use-csr'] = false;
  return overrides as Partial<AgentSettings>;
}

async function device(values: Values): Promise<number> {
  const stateDir = values['state-dir'];
  if (!stateDir) throw new Error('--state-dir is required');
  const state = new DeviceState(stateDir);
  if (!existsSync(join(stateDir, 'settings.json')) || values.password !== undefined) {
    if (!values['root-ca'] || values.password === undefined) throw new Error('a new device needs --root-ca and --password');
    const settings = settingsFor({
      mac: values.mac ?? values['client-id'] ?? '',
      serial: values.serial ?? '0',
      password: values.password,
      ...settingOverrides(values),
    });
    await state.initialise(settings, await readFile(values['root-ca'], 'utf8'));
  }
  const say = (line: string): void => {
    if (!values.json) process.stdout.write(`${line}\n`);
  };
  const result = await runDevice(state, {
    factoryReset: values['factory-reset'],
    onStep: (step, detail) => say(`  ${step}${detail ? `: ${detail}` : ''}`),
  });
  if (result.status === 'online') {
    await result.accountClient.endAsync();
    const credentials = await state.accountCredentials();
    const summary = { status: 'online', provisionedNow: result.provisionedNow, attempts: result.attempts, ...credentials.next };
    say(`device ${credentials.next.clientId} is online on ${credentials.next.brokerUrl} (account ${credentials.next.account})`);
    if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    return 0;
  }
  const reason = result.status === 'failed' ? result.reason : 'provisioning is disabled (enabled=false)';
  say(`device not provisioned: ${reason}`);
  if (values.json) process.stdout.write(`${JSON.stringify({ status: result.status, reason, attempts: result.attempts })}\n`);
  return 1;
}

async function fleet(values: Values): Promise<number> {
  if (!values.credentials || !values['root-ca']) throw new Error('fleet needs --credentials and --root-ca');
  const credentials = await readCredentialsFile(values.credentials);
  const count = integer(values.count, 'count') ?? credentials.length;
  if (count > credentials.length) throw new Error(`--count ${count}: the credentials file has only ${credentials.length} devices`);
  const progress = new ProgressBar(process.stderr, count);
  const startedAt = Date.now();
  const summary = await runFleet({
    credentials,
    count,
    concurrency: integer(values.concurrency, 'concurrency') ?? 50,
    brokerUrl: values['broker-url'] ?? 'mqtts://localhost:8883',
    trustedRootPem: await readFile(values['root-ca'], 'utf8'),
    stateRoot: values['state-root'] ?? (await mkdtemp(join(tmpdir(), 'agent-sim-fleet-'))),
    settings: settingOverrides(values),
    onProgress: (done, failed) => progress.update(done, failed, startedAt),
  });
  progress.update(summary.provisioned, summary.failed, startedAt, true);
  progress.finish();
  if (values.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    const { latencyMs: l } = summary;
    process.stdout.write(
      [
        `provisioned ${summary.provisioned} of ${summary.requested}, failed ${summary.failed}`,
        ...Object.entries(summary.failuresByReason).map(([reason, n]) => `  ${n} × ${reason}`),
        `${summary.devicesPerSecond.toFixed(1)} devices/s over ${(summary.durationMs / 1000).toFixed(1)} s`,
        `latency to birth: p50 ${l.p50} ms, p95 ${l.p95} ms, p99 ${l.p99} ms, max ${l.max} ms`,
      ].join('\n') + '\n',
    );
  }
  return summary.failed === 0 ? 0 : 1;
}

export async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(usage);
    return values.help ? 0 : 2;
  }
  if (command === 'device') return device(values);
  if (command === 'fleet') return fleet(values);
  process.stderr.write(`unknown command ${command}\n${usage}`);
  return 2;
}
