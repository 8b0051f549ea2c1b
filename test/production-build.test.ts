/**
 * What production runs: the compiled JavaScript of `npm run build` (tsconfig.build.json), started
 * with plain node, and the Dockerfile that builds the image of it. The build goes to a temporary
 * directory laid out like the image's /app: dist/, package.json, and a node_modules holding only
 * the production dependencies (links into ours, as `npm prune --omit=dev` would leave them). No
 * TypeScript source and no tsx can be reached from there, on Node 20 as on Node 24 (which would
 * strip the types of a .ts file by itself).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildConsole } from '../scripts/build-console.ts';
import { platformEnv } from './support/platform-process.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const adminToken = 'production-build-admin-token-0123456789';

/** The production dependencies as installed: top-level folders of node_modules (nested ones live inside them). */
function productionPackages(): string[] {
  const listed = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: repoRoot, encoding: 'utf8' });
  const top = join(repoRoot, 'node_modules') + sep;
  const names = (listed.stdout ?? '')
    .split('\n')
    .filter((path) => path.startsWith(top))
    .map((path) => path.slice(top.length))
    .filter((name) => !name.includes(`${sep}node_modules${sep}`));
  assert.ok(names.includes('aedes'), `npm ls --omit=dev listed no aedes:\n${listed.error?.message ?? listed.stderr}`);
  return [...new Set(names)];
}

/** Builds with tsconfig.build.json into `root`/dist and lays `root` out like the image's /app. */
function buildImageLayout(root: string): void {
  const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const build = spawnSync(
    process.execPath,
    [tsc, '-p', 'tsconfig.build.json', '--outDir', join(root, 'dist'), '--tsBuildInfoFile', join(root, 'tsbuildinfo')],
    {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 300_000,
    },
  );
  assert.equal(build.status, 0, `npm run build failed:\n${build.stdout}${build.stderr}`);
  buildConsole(join(root, 'dist', 'console')); // the rest of npm run build: the web console
  copyFileSync(join(repoRoot, 'package.json'), join(root, 'package.json'));
  for (const name of productionPackages()) {
    mkdirSync(dirname(join(root, 'node_modules', name)), { recursive: true });
    symlinkSync(join(repoRoot, 'node_modules', name), join(root, 'node_modules', name), 'dir');
  }
  // `npx agent-sim` of an install without dev dependencies: bin.js beside no TypeScript source.
  mkdirSync(join(root, 'agent-sim'));
  copyFileSync(join(repoRoot, 'agent-sim', 'bin.js'), join(root, 'agent-sim', 'bin.js'));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

/** Runs `node <script>` with no node flags and no NODE_OPTIONS; resolves when it exits. */
function runNode(cwd: string, script: string, args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('the production build (npm run build)', { timeout: 400_000 }, () => {
  let root = '';
  before(
    () => {
      root = mkdtempSync(join(tmpdir(), 'provisio-image-'));
      buildImageLayout(root);
    },
    { timeout: 320_000 },
  );
  after(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('compiles the product folders to JavaScript only: no test, benchmark, dev helper or script', () => {
    const folders = readdirSync(join(root, 'dist'));
    for (const folder of ['platform', 'agent-sim', 'protocol', 'broker', 'provisioner', 'api', 'store', 'certs', 'config']) {
      assert.ok(folders.includes(folder), `dist/ lacks ${folder}/`);
    }
    for (const folder of ['test', 'bench', 'dev-support', 'scripts', 'docs']) assert.ok(!folders.includes(folder), `dist/ holds ${folder}/`);
    // The web console's page and style sheet are served as they are, beside its compiled scripts.
    const notJavaScript = filesUnder(join(root, 'dist')).filter(
      (file) => !file.endsWith('.js') && !file.endsWith('.js.map') && !['console/index.html', 'console/console.css'].includes(file.split(sep).join('/')),
    );
    assert.deepEqual(notJavaScript, []);
    assert.ok(existsSync(join(root, 'dist', 'console', 'main.js')), 'the web console is built');
  });

  it('keeps tsx and the compiler out of the production dependencies', () => {
    const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    for (const tool of ['tsx', 'typescript']) {
      assert.equal(manifest['dependencies']?.[tool], undefined, `${tool} is a production dependency`);
      assert.ok(manifest['devDependencies']?.[tool], `${tool} is not a dev dependency`);
      assert.ok(!existsSync(join(root, 'node_modules', tool)), `${tool} is installed without dev dependencies`);
    }
  });

  it('Should start the all-in-one platform with plain node and answer /healthz and the admin API', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'provisio-image-data-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const env = platformEnv({ dataDir, ports: { mqtt: 0, mqtts: 0, account: 0, http: 0 }, adminToken });
    const child = spawn(process.execPath, ['dist/platform/main.js'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
    t.after(() => child.kill('SIGKILL'));
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));

    const deadline = Date.now() + 60_000;
    let httpPort: string | undefined;
    while (!(httpPort = /admin API\s+http:\/\/[^\s/]+:(\d+)\/api\/v1/.exec(output)?.[1])) {
      assert.ok(child.exitCode === null, `the platform exited at start:\n${output}`);
      assert.ok(Date.now() < deadline, `the platform did not start within 60 s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.match(output, /provisio is running/);
    assert.deepEqual(child.spawnargs, [process.execPath, 'dist/platform/main.js'], 'no node flag, no loader');
    const apiUrl = `http://127.0.0.1:${httpPort}`;
    assert.equal((await fetch(`${apiUrl}/healthz`)).status, 200);
    const accounts = await fetch(`${apiUrl}/api/v1/accounts`, { headers: { authorization: `Bearer ${adminToken}` } });
    assert.equal(accounts.status, 200, await accounts.text());
    const consolePage = await fetch(`${apiUrl}/`);
    assert.equal(consolePage.status, 200, 'the web console is served at /');
    assert.match(await consolePage.text(), /<script type="module" src="\/console\/main.js">/);
    assert.equal((await fetch(`${apiUrl}/console/main.js`)).status, 200);

    child.kill('SIGTERM');
    assert.equal(await exited, 0, output);
  });

  it('Should load every other entry point with plain node (they stop at their configuration or usage check)', async () => {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir(), PROVISIO_DATA_DIR: join(root, 'data') };
    const expected: Array<[string, number, RegExp]> = [
      ['dist/platform/broker-main.js', 78, /provisio-broker: PROVISIO_STORE_BACKEND must be redis/],
      ['dist/platform/provisioner-main.js', 78, /provisio-provisioner: PROVISIO_STORE_BACKEND must be redis/],
      ['dist/platform/api-main.js', 78, /provisio-api: PROVISIO_STORE_BACKEND must be redis/],
      ['dist/platform/ca-command.js', 64, /usage: npm run ca/],
      ['dist/platform/secrets-command.js', 64, /usage: npm run secrets/],
      ['dist/platform/sim-fleet.js', 78, /sim-fleet: set PROVISIO_ADMIN_TOKEN/],
    ];
    for (const [script, code, says] of expected) {
      const run = await runNode(root, script, [], env);
      assert.equal(run.code, code, `${script}:\n${run.output}`);
      assert.match(run.output, says, script);
    }
  });

  it('Should run agent-sim from dist/ where tsx is not installed', async () => {
    const run = await runNode(root, 'agent-sim/bin.js', ['--help'], { PATH: process.env.PATH ?? '/usr/bin:/bin' });
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /agent-sim: the reference device agent/);
  });

  it('is what docker-compose.yml and the Dockerfile start', () => {
    const started = [readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'), readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8')].flatMap(
      (text) => text.match(/dist\/platform\/[a-z-]+\.js/g) ?? [],
    );
    assert.ok(started.length >= 6);
    for (const script of started) assert.ok(existsSync(join(root, script)), `${script} is not built`);
  });
});

/** The Dockerfile's stages: the FROM line and the instructions after it (comments and continuations joined). */
function dockerfileStages(): Array<{ from: string; instructions: string[] }> {
  const lines = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const stages: Array<{ from: string; instructions: string[] }> = [];
  for (const line of lines) {
    if (/^FROM\s/i.test(line)) stages.push({ from: line, instructions: [] });
    else stages.at(-1)?.instructions.push(line);
  }
  return stages;
}

describe('Dockerfile', () => {
  const stages = dockerfileStages();
  const runtime = stages.at(-1)!;
  const runtimeText = runtime.instructions.join('\n');

  it('builds in one stage on Node 24 and runs from another', () => {
    assert.ok(stages.length >= 2, 'multi-stage');
    for (const stage of stages) assert.match(stage.from, /^FROM node:24-bookworm-slim\b/);
    const buildText = stages[0]!.instructions.join('\n');
    assert.match(buildText, /COPY patches .*\n(.*\n)*RUN npm ci\b/, 'patches/ is there before npm ci (its postinstall applies them)');
    assert.match(buildText, /npm run build/);
    assert.match(buildText, /npm prune --omit=dev/);
  });

  it('has no compiler toolchain, no dev dependency and no source in the runtime stage', () => {
    assert.doesNotMatch(runtimeText, /apt-get|g\+\+|python|\bmake\b|npm (ci|install)|tsx|\.ts\b/);
    const copies = runtime.instructions.filter((line) => /^COPY\s/i.test(line));
    const copied = copies.map((line) => /^COPY --from=\S+ \/app\/(\S+) /.exec(line)?.[1]);
    assert.deepEqual(copied.sort(), ['dist', 'node_modules', 'package.json']);
  });

  it('runs as a user who is not root, with plain node', () => {
    const user = runtime.instructions.filter((line) => /^USER\s/i.test(line)).at(-1);
    assert.ok(user, 'the runtime stage sets a user');
    assert.doesNotMatch(user, /^USER\s+(root|0)(:|\s*$)/);
    assert.equal(runtime.instructions.filter((line) => /^CMD\s/i.test(line)).at(-1), 'CMD ["node", "dist/platform/main.js"]');
  });

  it('has a .dockerignore that keeps tests, benchmarks, docs and local state out of the build context', () => {
    const ignored = readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
      .split('\n')
      .map((line) => line.trim());
    for (const path of ['test', 'bench', 'docs', 'dev-support', 'scripts', 'node_modules', 'dist', 'data', '.git']) {
      assert.ok(ignored.includes(path), `.dockerignore lacks ${path}`);
    }
    for (const needed of ['package.json', 'package-lock.json', 'patches', 'tsconfig.json', 'tsconfig.build.json']) {
      assert.ok(!ignored.includes(needed) && existsSync(join(repoRoot, needed)), `${needed} is needed by the build stage`);
    }
  });
});
