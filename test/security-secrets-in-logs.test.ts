import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runDevice } from '../agent-sim/device-agent.ts';
import { secretsFileOf } from '../platform/platform-secrets.ts';
import { readSecretsFile } from '../platform/secrets-file.ts';
import { connackOf, createAccountAndRequest, startTestPlatform, testAdminToken, type TestPlatform } from './support/platform-fixture.ts';
import { newSimulatedDevice } from './support/simulated-device.ts';

/**
 * docs/SECURITY.md "Secrets are never logged": a whole journey with every kind of secret, at the
 * most talkative log level, then every log line the platform wrote is searched for each of them.
 */
const internalPassword = 'internal-secret-never-logged-0123456789';

/** The PEM body lines of a private key (each 64 base64 characters is distinctive enough). */
function pemBodyLines(pem: string): string[] {
  return pem.split('\n').filter((line) => line.length >= 40 && !line.startsWith('-----'));
}

describe('secrets never appear in the logs', () => {
  let fixture: TestPlatform;
  const secrets = new Map<string, string>();

  before(async () => {
    fixture = await startTestPlatform({ logLevel: 'trace', internalPassword });
    secrets.set('admin token', testAdminToken);
    secrets.set('internal password', internalPassword);

    // A chosen password and an activation key; the device sends a CSR for its own key.
    const chosen = await createAccountAndRequest(fixture, 'secret-csr', {
      generateActivationKey: true,
      extra: { password: 'Chosen-Password-never-logged-42' },
    });
    // A generated password and activation key; the platform generates (derives) the device key.
    const generated = await createAccountAndRequest(fixture, 'secret-genkey', { generateActivationKey: true });
    for (const [name, request] of [
      ['csr', chosen],
      ['generated', generated],
    ] as const) {
      secrets.set(`${name} password`, request.password);
      secrets.set(`${name} activation key`, request.activationKey!);
      // A wrong activation key and a wrong password on the way: refusals are logged too.
      assert.equal(
        await connackOf(fixture.connectProvision({ clientId: request.clientId, username: request.username, password: `${request.password}-wrong` })),
        4,
      );
      secrets.set(`${name} wrong password`, `${request.password}-wrong`);
    }
    const wrongKeyState = await newSimulatedDevice(fixture, generated, { 'activation-key': 'WrongActivationKey-never-logged-1', 'retry-max-attempts': 1 });
    await runDevice(wrongKeyState);
    secrets.set('wrong activation key', 'WrongActivationKey-never-logged-1');

    for (const [request, useCsr] of [
      [chosen, true],
      [generated, false],
    ] as const) {
      const state = await newSimulatedDevice(fixture, request, { 'use-csr': useCsr, timeout: 15_000 });
      const result = await runDevice(state);
      assert.equal(result.status, 'online', result.status === 'failed' ? result.reason : result.status);
      if (result.status === 'online') await result.accountClient.endAsync();
      const keyPem = await readFile(join(state.directory, 'client.key'), 'utf8');
      pemBodyLines(keyPem).forEach((line, index) => secrets.set(`${request.clientId} private key line ${index}`, line));
    }

    // An account API token, and a bundle download token.
    const accountId = chosen.accountId;
    const token = await fixture.api<{ token: string }>('POST', '/api-tokens', { accountId });
    secrets.set('account API token', token.body.token);
    await fetch(`${fixture.apiUrl}/accounts`, { headers: { authorization: `Bearer ${token.body.token}x` } });

    // The platform's own private keys.
    for (const file of ['offline/root-ca.key.pem', 'issuing-ca.key.pem', 'server.key.pem', 'signing.key.pem']) {
      const pem = await readFile(join(fixture.config.dataDir, 'ca', file), 'utf8');
      pemBodyLines(pem).forEach((line, index) => secrets.set(`${file} line ${index}`, line));
    }
    // The secrets that derive device keys and sign download links (the secrets file).
    const platformSecrets = await readSecretsFile(secretsFileOf(fixture.config), undefined);
    for (const [name, ring] of Object.entries(platformSecrets?.document ?? {})) {
      secrets.set(`${name} secret`, ring.current.toString('base64url'));
      secrets.set(`${name} secret (hex)`, ring.current.toString('hex'));
    }
  });
  after(() => fixture.close());

  it('the log is not empty (the suite would prove nothing otherwise)', () => {
    const text = fixture.logText();
    assert.ok(text.split('\n').length > 15, `only ${text.split('\n').length} log lines`);
    assert.match(text, /provisioning reply sent/);
    assert.match(text, /CONNECT refused/);
    assert.match(text, /ACTIVATION_KEY_INVALID/);
  });

  it('no password, activation key, token or private key appears in any log line', () => {
    const text = fixture.logText();
    const leaked = [...secrets].filter(([, secret]) => text.includes(secret)).map(([name]) => name);
    assert.deepEqual(leaked, []);
    assert.ok(secrets.size > 20, `only ${secrets.size} secrets checked`);
  });

  it('no password, activation key or token appears in the audit log either', async () => {
    const events = await fixture.api('GET', '/audit-events?limit=1000');
    const text = JSON.stringify(events.body);
    const leaked = [...secrets].filter(([, secret]) => text.includes(secret)).map(([name]) => name);
    assert.deepEqual(leaked, []);
  });
});
