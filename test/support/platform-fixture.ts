import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { loadConfig, type PlatformConfig } from '../../config/config.ts';
import { createLogger } from '../../log/logger.ts';
import { startPlatform, type PlatformOptions, type RunningPlatform } from '../../platform/platform.ts';

export interface TestPlatform {
  readonly platform: RunningPlatform;
  readonly config: PlatformConfig;
  readonly adminToken: string;
  readonly apiUrl: string;
  readonly rootPem: string;
  /** Every log line the platform wrote, for the secret-leak checks. */
  readonly logText: () => string;
  api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** mqtt.js over TLS to the provision broker (or TCP with { tcp: true }). */
  connectProvision(options: IClientOptions & { tcp?: boolean }): Promise<MqttClient>;
  close(): Promise<void>;
}

export const testAdminToken = 'test-admin-token-0123456789abcdef';

/** A whole platform on ephemeral loopback ports with a fresh data directory. */
export async function startTestPlatform(overrides: Partial<PlatformConfig> = {}, options: PlatformOptions = {}): Promise<TestPlatform> {
  const dataDir = overrides.dataDir ?? (await mkdtemp(join(tmpdir(), 'provisio-platform-')));
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
      adminToken: testAdminToken,
      logLevel: 'info',
      authFailureDelayMs: 0,
      ...overrides,
    },
  );
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  const log = createLogger(config.logLevel, sink);
  const platform = await startPlatform(config, log, options);
  const apiUrl = `http://127.0.0.1:${platform.http.port}/api/v1`;
  return {
    platform,
    config,
    adminToken: testAdminToken,
    apiUrl,
    rootPem: platform.ca.rootCertificatePem,
    logText: () => lines.join(''),
    async api<T>(method: string, path: string, body?: unknown) {
      const response = await fetch(`${apiUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${testAdminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      return { status: response.status, body: (text ? JSON.parse(text) : {}) as T };
    },
    connectProvision(options) {
      const { tcp, ...mqttOptions } = options;
      const url = tcp ? `mqtt://127.0.0.1:${platform.provisionBroker.mqttPort}` : `mqtts://localhost:${platform.provisionBroker.mqttsPort}`;
      return connectAsync(url, {
        protocolVersion: 4,
        reconnectPeriod: 0,
        connectTimeout: 10_000,
        ca: platform.ca.rootCertificatePem,
        ...mqttOptions,
      });
    },
    async close() {
      await platform.close();
      if (!overrides.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface CreatedRequest {
  readonly id: string;
  readonly accountId: string;
  readonly clientId: string;
  readonly username: string;
  readonly password: string;
  readonly activationKey?: string;
}

/** An account (created once per name) and a provision request for clientId, over the admin API. */
export async function createAccountAndRequest(
  fixture: TestPlatform,
  clientId: string,
  options: { account?: string; generateActivationKey?: boolean; extra?: Record<string, unknown>; accountBody?: Record<string, unknown> } = {},
): Promise<CreatedRequest> {
  const name = options.account ?? 'acme';
  const account = await fixture.api<{ items: { id: string; name: string }[] }>('GET', `/accounts?limit=1000`);
  let accountId = account.body.items.find((item) => item.name === name)?.id;
  if (!accountId) {
    const created = await fixture.api<{ id: string }>('POST', '/accounts', { name, ...options.accountBody });
    if (created.status !== 201) throw new Error(`account not created: ${created.status} ${JSON.stringify(created.body)}`);
    accountId = created.body.id;
  }
  const response = await fixture.api<{ id: string; credentials: { username: string; password: string; activationKey?: string } }>(
    'POST',
    '/provision-requests',
    { accountId, clientId, generateActivationKey: options.generateActivationKey ?? false, ...options.extra },
  );
  if (response.status !== 201) throw new Error(`request not created: ${response.status} ${JSON.stringify(response.body)}`);
  const { credentials } = response.body;
  return {
    id: response.body.id,
    accountId,
    clientId,
    username: credentials.username,
    password: credentials.password,
    ...(credentials.activationKey ? { activationKey: credentials.activationKey } : {}),
  };
}

/** The CONNACK return code of a refused connection (mqtt.js puts it in error.code). */
export async function connackOf(attempt: Promise<MqttClient>): Promise<number> {
  try {
    const client = await attempt;
    await client.endAsync();
    return 0;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'number') throw error;
    return code;
  }
}
