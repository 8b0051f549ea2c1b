import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { runDevice } from '../agent-sim/device-agent.ts';
import { DeviceState } from '../agent-sim/device-state.ts';
import { defaultSettings } from '../agent-sim/settings.ts';
import { loadConfig } from '../config/config.ts';
import { generateSecret } from '../crypto/secret-hash.ts';
import { createLogger } from '../log/logger.ts';
import { startPlatform } from '../platform/platform.ts';

/**
 * `npm run screenshot:console`: the README's pictures of the web console, made the way a user
 * sees it. A platform on free ports in a temporary directory (the console built by `npm run
 * build` first), an account with two categories and twelve requests, five agent-sim devices
 * provisioned and online, then Debian's chromium (playwright-core) signs in and photographs the
 * rollout view and the device registry into docs/.
 */
const out = (name: string): string => join(import.meta.dirname, '..', 'docs', name);

async function api<T>(base: string, token: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'provisio-screenshot-'));
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
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    const origin = `http://127.0.0.1:${platform.http.port}`;
    const base = `${origin}/api/v1`;
    const account = await api<{ id: string }>(base, adminToken, 'POST', '/accounts', { name: 'acme' });
    for (const name of ['meters', 'gateways']) await api(base, adminToken, 'POST', '/categories', { accountId: account.id, name });
    const requests = [];
    for (let index = 0; index < 12; index += 1) {
      const clientId = `AABBCCDD00${String(index).padStart(2, '0')}`;
      const category = index % 3 === 0 ? 'gateways' : 'meters';
      requests.push(
        await api<{ clientId: string; credentials: { username: string; password: string } }>(base, adminToken, 'POST', '/provision-requests', {
          accountId: account.id,
          clientId,
          category,
          tags: [index < 6 ? 'site-1' : 'site-2'],
        }),
      );
    }
    for (const [index, request] of requests.slice(0, 5).entries()) {
      const state = new DeviceState(join(dataDir, `device-${index}`));
      await state.initialise(
        {
          ...defaultSettings,
          'broker-url': `mqtts://localhost:${platform.provisionBroker.mqttsPort}`,
          'client-id': request.clientId,
          username: request.credentials.username,
          password: request.credentials.password,
          mac: request.clientId,
          serial: `SN-${index}`,
          model: index % 2 === 0 ? 'ReliaGATE 10-20' : 'meter-m3',
          firmware: '5.4.0',
        },
        platform.ca.rootCertificatePem,
      );
      const result = await runDevice(state);
      if (result.status !== 'online') throw new Error(`device ${request.clientId} not online`);
      // Left online for the rollout view: the platform's close ends their sessions.
    }
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await page.goto(`${origin}/`);
    await page.getByLabel('API token').fill(adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Rollout', exact: true }).click();
    await page.locator('tr[data-stage="online"]').nth(4).waitFor({ timeout: 20_000 });
    await page.screenshot({ path: out('console-rollout.png') });
    await page.locator('header').getByLabel('Account').selectOption({ label: 'acme' });
    await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Devices', exact: true }).click();
    await page.getByRole('link', { name: requests[0]!.clientId }).waitFor();
    await page.screenshot({ path: out('console-devices.png') });
    process.stdout.write(`wrote ${out('console-rollout.png')} and ${out('console-devices.png')}\n`);
  } finally {
    await browser.close();
    await platform.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`screenshot failed: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
