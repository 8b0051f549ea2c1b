import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/config.ts';
import { configSchema, envNameOf, type ConfigKey } from '../config/schema.ts';
import { PlatformError } from '../errors/platform-error.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

function refusal(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof PlatformError);
    assert.equal(error.code, 'CONFIG_INVALID');
    return error.message;
  }
  assert.fail('expected CONFIG_INVALID');
}

describe('configuration', () => {
  it('starts on embedded defaults with an empty environment', () => {
    const config = loadConfig({});
    assert.equal(config.storeBackend, 'sqlite');
    assert.equal(config.provisionMqttPort, 1883);
    assert.equal(config.provisionMqttsPort, 8883);
    assert.equal(config.accountMqttsPort, 8884);
    assert.deepEqual(config.publicHostnames, ['localhost']);
  });

  it('is frozen', () => {
    const config = loadConfig({});
    assert.ok(Object.isFrozen(config));
    assert.throws(() => {
      (config as { httpPort: number }).httpPort = 1;
    });
  });

  it('reads typed values from PROVISIO_* variables', () => {
    const config = loadConfig({
      PROVISIO_HTTP_PORT: '9090',
      PROVISIO_PROVISION_MQTT_ENABLED: 'false',
      PROVISIO_PUBLIC_HOSTNAMES: 'prov.example.com, 10.0.0.5',
      PROVISIO_STORE_BACKEND: 'redis',
    });
    assert.equal(config.httpPort, 9090);
    assert.equal(config.provisionMqttEnabled, false);
    assert.deepEqual(config.publicHostnames, ['prov.example.com', '10.0.0.5']);
    assert.equal(config.storeBackend, 'redis');
  });

  it('Should refuse an invalid port, naming the variable and what it accepts', () => {
    const message = refusal(() => loadConfig({ PROVISIO_HTTP_PORT: '80a' }));
    assert.match(message, /PROVISIO_HTTP_PORT/);
    assert.match(message, /integer >= 0 and <= 65535/);
    assert.match(
      refusal(() => loadConfig({ PROVISIO_HTTP_PORT: '70000' })),
      /PROVISIO_HTTP_PORT/,
    );
  });

  it('Should refuse a value outside an enumeration, listing the accepted ones', () => {
    const message = refusal(() => loadConfig({ PROVISIO_STORE_BACKEND: 'postgres' }));
    assert.match(message, /PROVISIO_STORE_BACKEND.*one of sqlite, redis/);
  });

  it('Should refuse a boolean that is not one', () => {
    assert.match(
      refusal(() => loadConfig({ PROVISIO_PROVISION_MQTT_ENABLED: 'maybe' })),
      /PROVISIO_PROVISION_MQTT_ENABLED.*true or false/,
    );
  });

  it('Should refuse half of an operator CA', () => {
    assert.match(
      refusal(() => loadConfig({ PROVISIO_CA_ROOT_CERT_FILE: '/x.pem' })),
      /go together/,
    );
  });

  it('reads an optional JSON config file, which the environment overrides', () => {
    const dir = mkdtempSync(join(tmpdir(), 'provisio-config-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ httpPort: 7000, logLevel: 'warn' }));
    const config = loadConfig({ PROVISIO_CONFIG_FILE: file, PROVISIO_HTTP_PORT: '7001' });
    assert.equal(config.httpPort, 7001);
    assert.equal(config.logLevel, 'warn');
  });

  it('Should refuse an unknown setting in the config file, naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'provisio-config-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ htpPort: 7000 }));
    assert.match(
      refusal(() => loadConfig({ PROVISIO_CONFIG_FILE: file })),
      /htpPort in .*config\.json: unknown setting/,
    );
    writeFileSync(file, 'not json');
    assert.match(
      refusal(() => loadConfig({ PROVISIO_CONFIG_FILE: file })),
      /JSON object/,
    );
  });

  it('documents every variable in the README with its default', () => {
    for (const key of Object.keys(configSchema.properties) as ConfigKey[]) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${envNameOf(key)}\``));
      assert.ok(row, `README lacks a row for ${envNameOf(key)}`);
      const property = configSchema.properties[key] as { default?: unknown };
      if (property.default !== undefined) {
        const shown = Array.isArray(property.default) ? property.default.join(',') : String(property.default);
        assert.ok(row.includes(`\`${shown}\``), `README row of ${envNameOf(key)} should show its default ${shown}`);
      }
    }
    assert.ok(readme.includes('PROVISIO_CONFIG_FILE'));
  });

  it('is the only module that reads process.env', async () => {
    const { readdirSync, statSync } = await import('node:fs');
    const offenders: string[] = [];
    const root = new URL('..', import.meta.url).pathname;
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        if (['node_modules', '.git', 'test', 'dev-support', 'data', 'bench'].includes(name)) continue;
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith('.ts') && readFileSync(path, 'utf8').includes('process.env') && !path.endsWith('config/config.ts')) {
          offenders.push(path.slice(root.length));
        }
      }
    };
    walk(root);
    assert.deepEqual(offenders, []);
  });
});
