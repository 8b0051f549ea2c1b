import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDevice } from '../agent-sim/device-agent.ts';
import { DeviceState } from '../agent-sim/device-state.ts';
import { defaultSettings } from '../agent-sim/settings.ts';
import { loadConfig } from '../config/config.ts';
import { createLogger } from '../log/logger.ts';
import { generateSecret } from '../crypto/secret-hash.ts';
import { startPlatform } from './platform.ts';

/**
 * `npm run demo`: a platform on free ports in a temporary directory, an account and a provision
 * request made over the admin API, and agent-sim taking one device from factory state to its
 * account broker, each step printed.
 */
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function api<T>(base: string, token: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

async function demo(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'provisio-demo-'));
  const adminToken = generateSecret(40);
  const config = loadConfig(
    {},
    {
      dataDir,
      bindHost: '127.0.0.1',
      provisionMqttPort: 0,
      provisionMqttsPort: 0,
      accountMqttsPort: 0,
      httpPort: 0,
      discoveryPort: 0,
      adminToken,
      logLevel: 'warn',
    },
  );
  const platform = await startPlatform(config, createLogger('warn'));
  try {
    say('1. platform started (temporary data directory, free ports):');
    for (const [name, where] of Object.entries(platform.endpoints)) say(`     ${name.padEnd(28)} ${where}`);
    const base = `http://127.0.0.1:${platform.http.port}/api/v1`;

    const account = await api<{ id: string; name: string }>(base, adminToken, 'POST', '/accounts', {
      name: 'acme',
      configurationTemplate: { 'telemetry.interval.seconds': 60, 'cloud.endpoint': '${brokerUrl}' },
    });
    say(`2. POST /accounts → account "${account.name}" (${account.id})`);

    const created = await api<{ id: string; clientId: string; credentials: { username: string; password: string; activationKey: string } }>(
      base,
      adminToken,
      'POST',
      '/provision-requests',
      { accountId: account.id, clientId: 'AABBCCDDEEFF', generateActivationKey: true },
    );
    say(`3. POST /provision-requests → request ${created.id} for clientId ${created.clientId}`);
    say(`     credentials shown once: username ${created.credentials.username}, a password and a 32-character activation key`);

    const state = new DeviceState(join(dataDir, 'device-flash'));
    await state.initialise(
      {
        ...defaultSettings,
        'broker-url': `mqtts://localhost:${platform.provisionBroker.mqttsPort}`,
        'client-id': created.clientId,
        username: created.credentials.username,
        password: created.credentials.password,
        'activation-key': created.credentials.activationKey,
        mac: 'AA:BB:CC:DD:EE:FF',
        serial: 'DEMO-1',
        model: 'demo-gateway',
      },
      platform.ca.rootCertificatePem,
    );
    say('4. agent-sim, a factory-fresh device:');
    const result = await runDevice(state, { onStep: (step, detail) => say(`     ${step}${detail ? ` (${detail})` : ''}`) });
    if (result.status !== 'online') throw new Error(`the device was not provisioned: ${result.status === 'failed' ? result.reason : result.status}`);
    await result.accountClient.endAsync();
    const next = (await state.accountCredentials()).next;
    say(`5. the device is online on its account broker ${next.brokerUrl} as ${next.account}/${next.clientId}`);

    const request = await api<{ jobStatus: string; status: string }>(base, adminToken, 'GET', `/provision-requests/${created.id}`);
    say(`6. GET /provision-requests/${created.id} → jobStatus ${request.jobStatus}, status ${request.status}: its credentials are used up`);
    const audit = await api<{ items: { type: string }[] }>(base, adminToken, 'GET', `/audit-events?provisionRequestId=${created.id}`);
    say(`7. audit trail: ${audit.items.map((event) => event.type).join(' → ')}`);
  } finally {
    await platform.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

demo().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
