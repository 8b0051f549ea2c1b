import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { skipUnlessInstalled } from './support/external-tools.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const requiredBy = 'PROVISIO_TEST_REQUIRE_DOCKER_COMPOSE';
const secrets = { PROVISIO_ADMIN_TOKEN: 'compose-test-admin-token-0123456789', PROVISIO_INTERNAL_PASSWORD: 'compose-test-internal-0123456789' };

function compose(args: string[], env: Record<string, string> = secrets): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('docker-compose', ['--profile', 'sim', '--profile', 'monitoring', ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('docker-compose.yml', () => {
  it('is valid for docker-compose and describes the scaled-out platform', (t) => {
    if (skipUnlessInstalled(t, ['docker-compose'], 'apt-get install -y docker-compose', requiredBy)) return;
    const config = compose(['config']);
    assert.equal(config.status, 0, config.stderr);
    const services = compose(['config', '--services']).stdout.trim().split('\n').sort();
    assert.deepEqual(services, ['agent-sim', 'api', 'broker-1', 'broker-2', 'grafana', 'prometheus', 'provisioner-1', 'provisioner-2', 'redis']);
    const text = config.stdout;
    assert.match(text, /--appendonly/, 'Redis keeps its data (append-only file)');
    assert.equal((text.match(/healthcheck:/g) ?? []).length, 8, 'every long-running service has a health check');
    assert.match(text, /\/readyz/);
    assert.match(text, /profiles:\s*\n\s*- sim/, 'agent-sim runs only with --profile sim');
    assert.equal((text.match(/profiles:\s*\n\s*- monitoring/g) ?? []).length, 2, 'Prometheus and Grafana run only with --profile monitoring');
  });

  it('Should refuse to start without the admin token and internal password', (t) => {
    if (skipUnlessInstalled(t, ['docker-compose'], 'apt-get install -y docker-compose', requiredBy)) return;
    const config = compose(['config'], {});
    assert.notEqual(config.status, 0);
    assert.match(config.stderr, /PROVISIO_ADMIN_TOKEN|PROVISIO_INTERNAL_PASSWORD/);
  });

  it('Should pass the secrets to the services as environment values only, never on a command line', () => {
    const file = readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8');
    const interpolated = file.split('\n').filter((line) => line.includes('${'));
    assert.ok(interpolated.length >= 3, 'the admin token and the internal password come from the environment');
    for (const line of interpolated) assert.match(line, /^\s+PROVISIO_[A-Z_]+: \$\{PROVISIO_[A-Z_]+:\?[^}]*\}$/);
  });

  it('Should run compiled JavaScript with plain node and show no secret in any command (docker-compose config)', (t) => {
    if (skipUnlessInstalled(t, ['docker-compose'], 'apt-get install -y docker-compose', requiredBy)) return;
    const text = compose(['config']).stdout;
    const withSecret = text.split('\n').filter((line) => Object.values(secrets).some((secret) => line.includes(secret)));
    assert.ok(withSecret.length > 0, 'the secrets reach the services');
    for (const line of withSecret) assert.match(line, /^\s+PROVISIO_(ADMIN_TOKEN|INTERNAL_PASSWORD): \S+$/, 'a secret outside an environment variable');
    assert.doesNotMatch(text, /tsx|--import|\.ts\b/);
    assert.equal((text.match(/- dist\/platform\/[a-z-]+\.js\n/g) ?? []).length, 6, 'api, two brokers, two provisioners and the sim fleet');
  });

  it('uses only documented PROVISIO_* variables', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const file = readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8');
    const used = new Set(file.match(/PROVISIO_[A-Z_]+/g) ?? []);
    const undocumented = [...used].filter((name) => !readme.includes(`| \`${name}\``));
    assert.deepEqual(undocumented, []);
  });
});
