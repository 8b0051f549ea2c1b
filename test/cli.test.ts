import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { cliResult, runProvisioCli, startProvisioCli, type CliResult } from './support/provisio-cli.ts';

/**
 * Issue 16 §2: the admin CLI, run as a user runs it (node cli/bin.js, a child process) against a
 * real platform over HTTP: the commands of the issue, their filters and --json, what each exit
 * code means, the connection settings (flags, environment, a config file refused while others may
 * read it), --help on every command, and `audit tail -f` following new events until Ctrl-C.
 */
describe('Admin CLI (provisio)', () => {
  let fixture: TestPlatform;
  let home: string;
  /** Everything every run printed, to check that no token ever appears. */
  const printed: string[] = [];
  let accountToken = '';

  before(async () => {
    fixture = await startTestPlatform({ logLevel: 'warn' });
    home = await mkdtemp(join(tmpdir(), 'provisio-cli-home-'));
  });
  after(async () => {
    await fixture?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  /** A clean environment: HOME is an empty directory (no config file), the API from the environment. */
  function environment(extra: Record<string, string | undefined> = {}): Record<string, string> {
    const env: Record<string, string | undefined> = {
      PATH: process.env['PATH'],
      HOME: home,
      PROVISIO_URL: fixture.apiUrl,
      PROVISIO_TOKEN: fixture.adminToken,
      ...extra,
    };
    return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
  }

  async function provisio(args: string[], options: { env?: Record<string, string | undefined>; stdin?: string } = {}): Promise<CliResult> {
    const result = await runProvisioCli({ args, env: environment(options.env), ...(options.stdin !== undefined ? { stdin: options.stdin } : {}) });
    printed.push(result.stdout, result.stderr);
    return result;
  }

  /** Runs a command that must succeed; answers its stdout parsed as JSON (it is given --json). */
  async function json<T>(args: string[]): Promise<T> {
    const result = await provisio([...args, '--json']);
    assert.equal(result.code, 0, `provisio ${args.join(' ')}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  }

  type Page<T> = { items: T[]; total: number };
  type Request = { id: string; clientId: string; status: string; category: string | null; tags: string[] };

  it('Should create an account and list it, as a table and as JSON', async () => {
    const created = await provisio(['accounts', 'create', 'acme']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^name:\s+acme$/m);
    const table = await provisio(['accounts', 'ls']);
    assert.equal(table.code, 0);
    assert.match(table.stdout, /^ID\s+NAME\s+BROKER/);
    assert.match(table.stdout, /\sacme\s/);
    const page = await json<Page<{ name: string }>>(['accounts', 'ls']);
    assert.deepEqual(
      page.items.map((account) => account.name),
      ['acme'],
    );
  });

  it('Should exit 1 and print the problem when the API refuses (a duplicate account)', async () => {
    const direct = await fixture.api<{ detail: string; title: string }>('POST', '/accounts', { name: 'acme' });
    assert.equal(direct.status, 409);
    const result = await provisio(['accounts', 'create', 'acme']);
    assert.equal(result.code, 1);
    assert.ok(result.stderr.includes(direct.body.detail), result.stderr);
    assert.ok(result.stderr.includes(direct.body.title), result.stderr);
    assert.match(result.stderr, /409 DUPLICATE/);
    const asJson = await provisio(['accounts', 'create', 'acme', '--json']);
    assert.equal(asJson.code, 1);
    assert.equal(JSON.parse(asJson.stdout).code, 'DUPLICATE');
    const invalid = await provisio(['requests', 'create', '--account', 'acme', '--client-id', 'bad/id']);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /VALIDATION_FAILED/);
    assert.match(invalid.stderr, /^ {2}body\/clientId: /m, 'each invalid field on its own line');
    const unknownAccount = await provisio(['requests', 'ls', '--account', 'nobody']);
    assert.equal(unknownAccount.code, 1);
    assert.match(unknownAccount.stderr, /no account named 'nobody'/);
  });

  it('Should create a request and print its credentials once, with a warning', async () => {
    const result = await provisio([
      'requests',
      'create',
      '--account',
      'acme',
      '--client-id',
      'dev-1',
      '--tag',
      'lab',
      '--tag',
      'floor-2',
      '--generate-activation-key',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /shown this once/);
    const password = /^password:\s+(\S+)$/m.exec(result.stdout)?.[1];
    const activationKey = /^activationKey:\s+(\S+)$/m.exec(result.stdout)?.[1];
    const id = /^id:\s+(\S+)$/m.exec(result.stdout)?.[1];
    assert.ok(password && password.length >= 32 && activationKey && id, result.stdout);
    const shown = await provisio(['requests', 'show', id]);
    assert.equal(shown.code, 0);
    assert.match(shown.stdout, /^tags:\s+floor-2;lab$/m);
    const everything = [shown.stdout, (await provisio(['requests', 'ls'])).stdout, (await provisio(['requests', 'ls', '--json'])).stdout].join('\n');
    assert.ok(!everything.includes(password) && !everything.includes(activationKey), 'the credentials are not shown again');
  });

  it('Should import a CSV of 5 devices and print their credentials CSV on stdout', async () => {
    assert.equal((await provisio(['categories', 'create', 'sensors', '--account', 'acme'])).code, 0);
    const devices = [
      'clientId,category,tags',
      'sensor-1,sensors,roof;north',
      'sensor-2,sensors,roof',
      '"sensor-3",sensors,',
      'sensor-4,sensors,basement',
      'sensor-5,sensors,',
    ];
    const file = join(home, 'devices.csv');
    await writeFile(file, `\ufeff${devices.join('\r\n')}\r\n`);
    const result = await provisio(['requests', 'import', file, '--account', 'acme']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /5 request\(s\) created; .*shown this once/);
    const rows = parse(result.stdout, { columns: true }) as { clientId: string; username: string; password: string; activationKey: string }[];
    assert.equal(rows.length, 5);
    assert.deepEqual(
      rows.map((row) => row.clientId),
      ['sensor-1', 'sensor-2', 'sensor-3', 'sensor-4', 'sensor-5'],
    );
    for (const row of rows) {
      assert.equal(row.username, row.clientId);
      assert.ok(row.password.length >= 32);
    }
    const inCategory = await json<Page<Request>>(['requests', 'ls', '--account', 'acme', '--category', 'sensors']);
    assert.equal(inCategory.total, 5);
    assert.deepEqual(inCategory.items.find((request) => request.clientId === 'sensor-1')?.tags, ['north', 'roof']);
    const asJson = await provisio(['requests', 'import', '-', '--account', 'acme', '--json', '--delimiter', ';'], {
      stdin: 'clientId;generateActivationKey\nsensor-6;true\n',
    });
    assert.equal(asJson.code, 0, asJson.stderr);
    const batch = JSON.parse(asJson.stdout) as { created: { clientId: string; credentials: { activationKey?: string } }[]; failed: unknown[] };
    assert.equal(batch.created[0]?.clientId, 'sensor-6');
    assert.ok(batch.created[0]?.credentials.activationKey);
    assert.deepEqual(batch.failed, []);
  });

  it('Should create nothing from a CSV with a bad row, and say which rows (exit 1)', async () => {
    const before = (await json<Page<Request>>(['requests', 'ls'])).total;
    const result = await provisio(['requests', 'import', '-', '--account', 'acme'], {
      stdin: 'clientId,retryMaxAttempts\nok-1,3\n,3\nok-2,many\nsensor-1,1\n',
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /VALIDATION_FAILED/);
    assert.match(result.stderr, /^ {2}body\/rows\/2\/clientId: /m);
    assert.match(result.stderr, /^ {2}body\/rows\/3\/retryMaxAttempts: /m);
    assert.equal(result.stdout, '');
    const taken = await provisio(['requests', 'import', '-', '--account', 'acme'], { stdin: 'clientId\nok-3\nsensor-1\n' });
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /row 2, column clientId/);
    const unknownColumn = await provisio(['requests', 'import', '-', '--account', 'acme'], { stdin: 'clientId,colour\nx,red\n' });
    assert.equal(unknownColumn.code, 1);
    assert.match(unknownColumn.stderr, /colour/);
    assert.equal((await json<Page<Request>>(['requests', 'ls'])).total, before, 'all or nothing');
    const badDelimiter = await provisio(['requests', 'import', '-', '--delimiter', 'tab']);
    assert.equal(badDelimiter.code, 2);
    const missing = await provisio(['requests', 'import', join(home, 'no-such.csv')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read/);
  });

  it('Should filter the request list by status, job status, category and clientId', async () => {
    const sensors = await json<Page<Request>>(['requests', 'ls', '--category', 'sensors', '--limit', '2']);
    assert.equal(sensors.items.length, 2);
    assert.equal(sensors.total, 5);
    const disabled = await provisio(['requests', 'disable', sensors.items[0]!.id]);
    assert.equal(disabled.code, 0, disabled.stderr);
    assert.match(disabled.stdout, /DISABLED/);
    const onlyDisabled = await json<Page<Request>>(['requests', 'ls', '--status', 'disabled']);
    assert.deepEqual(
      onlyDisabled.items.map((request) => request.id),
      [sensors.items[0]!.id],
    );
    const enabled = await json<Page<Request>>(['requests', 'ls', '--account', 'acme', '--status', 'ENABLED', '--job-status', 'CREATED,RUNNING']);
    assert.equal(enabled.total, (await json<Page<Request>>(['requests', 'ls'])).total - 1);
    const two = await json<Page<Request>>(['requests', 'ls', '--client-id', 'sensor-2', '--client-id', 'dev-1']);
    assert.deepEqual(two.items.map((request) => request.clientId).sort(), ['dev-1', 'sensor-2']);
    assert.equal((await provisio(['requests', 'enable', sensors.items[0]!.id])).code, 0);
    const deleted = await provisio(['requests', 'delete', sensors.items[1]!.id]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal((await provisio(['requests', 'show', sensors.items[1]!.id])).code, 1, 'gone: 404');
    const table = await provisio(['requests', 'ls', '--status', 'ENABLED', '--category', 'sensors']);
    assert.match(table.stdout, /^ID\s+ACCOUNT\s+CLIENT ID\s+STATUS\s+JOB STATUS/);
    assert.match(table.stdout, /\sacme\s+sensor-\d\s+ENABLED\s+CREATED\s+sensors\s/, 'account names, not ids');
    const badStatus = await provisio(['requests', 'ls', '--status', 'ASLEEP']);
    assert.equal(badStatus.code, 2);
    assert.match(badStatus.stderr, /--status must be one of ENABLED, DISABLED/);
  });

  it('Should work with an account token: its own account, account ids where it may not list accounts', async () => {
    const accounts = await fixture.api<{ items: { id: string; name: string }[] }>('GET', '/accounts');
    const acme = accounts.body.items.find((account) => account.name === 'acme')!;
    const created = await fixture.api<{ token: string }>('POST', '/api-tokens', { accountId: acme.id, description: 'provisio cli test' });
    assert.equal(created.status, 201);
    accountToken = created.body.token;
    const env = { PROVISIO_TOKEN: accountToken };
    const own = await provisio(['requests', 'ls', '--json', '--limit', '1000'], { env });
    assert.equal(own.code, 0, own.stderr);
    const page = JSON.parse(own.stdout) as Page<Request & { accountId: string }>;
    assert.ok(page.total > 0 && page.items.every((request) => request.accountId === acme.id));
    const table = await provisio(['requests', 'ls', '--account', acme.id, '--client-id', 'dev-1'], { env });
    assert.equal(table.code, 0, table.stderr);
    assert.ok(table.stdout.includes(` ${acme.id} `), 'the account id where its name cannot be read');
    const refused = await provisio(['accounts', 'ls'], { env });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /403 FORBIDDEN/);
  });

  it('Should list devices, categories, configurations, jobs and certificates, and edit a configuration', async () => {
    const devices = await json<Page<unknown>>([
      'devices',
      'ls',
      '--account',
      'acme',
      '--category',
      'sensors',
      '--tag',
      'roof',
      '--online',
      'false',
      '--out-of-sync',
    ]);
    assert.equal(devices.total, 0, 'no device has provisioned');
    const noAccount = await provisio(['devices', 'ls']);
    assert.equal(noAccount.code, 1, 'the admin token must name an account');
    assert.match(noAccount.stderr, /accountId/);
    const categories = await json<Page<{ name: string }>>(['categories', 'ls', '--account', 'acme']);
    assert.deepEqual(
      categories.items.map((category) => category.name),
      ['sensors'],
    );
    const content = join(home, 'configuration.json');
    await writeFile(content, JSON.stringify({ interval: 10 }));
    const configuration = await json<{ id: string; version: number }>(['configurations', 'create', 'base', '--account', 'acme', '--file', content]);
    assert.equal(configuration.version, 1);
    const edited = await provisio(['configurations', 'edit', configuration.id, '--file', '-'], { stdin: JSON.stringify({ interval: 20 }) });
    assert.equal(edited.code, 0, edited.stderr);
    assert.match(edited.stdout, /^version:\s+2$/m);
    const stale = await provisio(['configurations', 'edit', configuration.id, '--file', content, '--version', '1']);
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /VERSION_CONFLICT/);
    assert.deepEqual(JSON.parse((await provisio(['configurations', 'show', configuration.id])).stdout), { interval: 20 });
    const job = await json<{ id: string; state: string }>([
      'jobs',
      'create',
      'roll-out',
      '--account',
      'acme',
      '--category',
      'sensors',
      '--configuration',
      configuration.id,
    ]);
    assert.equal(job.state, 'RUNNING');
    const paused = await provisio(['jobs', 'pause', job.id]);
    assert.equal(paused.code, 0, paused.stderr);
    assert.match(paused.stdout, /PAUSED/);
    assert.equal((await json<Page<{ id: string }>>(['jobs', 'ls', '--state', 'PAUSED'])).items[0]?.id, job.id);
    assert.equal((await provisio(['jobs', 'resume', job.id])).code, 0);
    assert.equal((await json<{ state: string }>(['jobs', 'cancel', job.id])).state, 'CANCELLED');
    assert.equal((await json<Page<unknown>>(['certs', 'ls', '--account', 'acme', '--status', 'VALID'])).total, 0);
    const revoke = await provisio(['certs', 'revoke', '0123abcd', '--reason', 'keyCompromise']);
    assert.equal(revoke.code, 1, 'no such certificate: 404');
    assert.match(revoke.stderr, /NOT_FOUND/);
    const renewal = await json<{ devicesTold: number }>(['renew', '--account', 'acme', '--category', 'sensors', '--within', '60']);
    assert.equal(renewal.devicesTold, 0);
  });

  it('Should exit 2 on a bad command line, sending nothing', async () => {
    for (const args of [
      ['requests', 'ls', '--bogus'],
      ['requests', 'create', '--client-id', 'x'],
      ['accounts', 'create'],
      ['accounts', 'create', 'a', 'b'],
      ['accounts', 'frobnicate'],
      ['frobnicate'],
      [],
      ['requests', 'ls', '--limit', 'ten'],
      ['renew'],
      ['audit', 'ls', '--since', 'yesterday'],
    ]) {
      const result = await provisio(args, { env: { PROVISIO_URL: 'http://127.0.0.1:1' } });
      assert.equal(result.code, 2, `provisio ${args.join(' ')}: ${result.stderr}`);
      assert.ok(result.stderr.length > 0);
    }
  });

  it('Should exit 3 without a token, with a token the API refuses, and without an API to reach', async () => {
    const noToken = await provisio(['accounts', 'ls'], { env: { PROVISIO_TOKEN: undefined } });
    assert.equal(noToken.code, 3);
    assert.match(noToken.stderr, /no API token/);
    const wrongToken = await provisio(['accounts', 'ls', '--token', 'not-the-token']);
    assert.equal(wrongToken.code, 3);
    assert.match(wrongToken.stderr, /401/);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const unreachable = await provisio(['accounts', 'ls'], { env: { PROVISIO_URL: `http://127.0.0.1:${port}` } });
    assert.equal(unreachable.code, 3);
    assert.match(unreachable.stderr, /cannot reach the API/);
  });

  it('Should take the URL and token from flags and from a config file readable by its owner only', async () => {
    const flags = await provisio(['--url', fixture.apiUrl.replace(/\/api\/v1$/, ''), 'accounts', 'ls', '--token', fixture.adminToken, '--json'], {
      env: { PROVISIO_URL: undefined, PROVISIO_TOKEN: undefined },
    });
    assert.equal(flags.code, 0, flags.stderr);
    const directory = join(home, '.config', 'provisio');
    await mkdir(directory, { recursive: true });
    const config = join(directory, 'config.json');
    await writeFile(config, JSON.stringify({ url: fixture.apiUrl, token: fixture.adminToken }));
    await chmod(config, 0o644);
    const env = { PROVISIO_URL: undefined, PROVISIO_TOKEN: undefined };
    const open = await provisio(['accounts', 'ls'], { env });
    assert.equal(open.code, 2, 'a token others may read is refused');
    assert.match(open.stderr, /chmod 600/);
    await chmod(config, 0o600);
    const closed = await provisio(['accounts', 'ls'], { env });
    assert.equal(closed.code, 0, closed.stderr);
    assert.match(closed.stdout, /acme/);
    const explicit = join(home, 'other.json');
    await writeFile(explicit, JSON.stringify({ url: fixture.apiUrl }), { mode: 0o644 });
    const urlOnly = await provisio(['accounts', 'ls', '--config', explicit], { env: { PROVISIO_URL: undefined } });
    assert.equal(urlOnly.code, 0, 'a config file without a token may be read by anyone; the token comes from the environment');
    await rm(config);
  });

  it('Should answer --help for every group and command', async () => {
    const top = await provisio(['--help'], { env: { PROVISIO_TOKEN: undefined } });
    assert.equal(top.code, 0);
    const groups = [...top.stdout.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((match) => match[1]!);
    assert.deepEqual(groups, [
      'accounts',
      'requests',
      'codes',
      'enrollment-groups',
      'manufacturer-cas',
      'device-assignments',
      'devices',
      'categories',
      'configurations',
      'jobs',
      'certs',
      'renew',
      'audit',
    ]);
    const commands: string[][] = [];
    for (const group of groups) {
      const help = await provisio([group, '--help'], { env: { PROVISIO_TOKEN: undefined } });
      assert.equal(help.code, 0, `${group} --help: ${help.stderr}`);
      const listed = [...help.stdout.matchAll(new RegExp(`^ {2}provisio ${group} ([a-z-]+)`, 'gm'))].map((match) => [group, match[1]!]);
      commands.push(...(listed.length > 0 ? listed : [[group]]));
    }
    assert.ok(commands.length >= 25, `${commands.length} commands`);
    // Four at a time: each is a node process of its own.
    for (let start = 0; start < commands.length; start += 4) {
      await Promise.all(
        commands.slice(start, start + 4).map(async (command) => {
          const help = await provisio([...command, '--help'], { env: { PROVISIO_TOKEN: undefined } });
          assert.equal(help.code, 0, `${command.join(' ')} --help: ${help.stderr}`);
          assert.ok(help.stdout.startsWith(`provisio ${command.join(' ')}`), help.stdout);
          assert.match(help.stdout, /--json/);
        }),
      );
    }
  });

  it('Should follow the audit log with tail -f and stop on Ctrl-C with exit code 130', async () => {
    const shown = await provisio(['audit', 'tail', '-n', '2']);
    assert.equal(shown.code, 0);
    assert.equal(shown.stdout.trim().split('\n').length, 2);
    const child = startProvisioCli({ args: ['audit', 'tail', '-f', '-n', '0', '--type', 'account.created'], env: environment() });
    const ended = cliResult(child, 30_000);
    let stdout = '';
    const seen = new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('"name":"followed"')) resolve();
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 1500)); // its first poll is under way
    assert.equal((await fixture.api('POST', '/accounts', { name: 'followed' })).status, 201);
    const timeout = new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error(`no event within 10 s: ${stdout}`)), 10_000).unref());
    await Promise.race([seen, timeout]);
    assert.match(stdout, /account\.created\s+success\s+admin/);
    assert.doesNotMatch(stdout, /"name":"acme"/, '-n 0: no older event');
    child.kill('SIGINT');
    const result = await ended;
    printed.push(result.stdout, result.stderr);
    assert.equal(result.code, 130, result.stderr);
    assert.equal(result.stdout.split('\n').filter((line) => line.includes('"name":"followed"')).length, 1, 'printed once');
  });

  it('Should never print the token', () => {
    assert.ok(printed.length > 0);
    assert.ok(accountToken.length > 0);
    assert.ok(!printed.some((text) => text.includes(fixture.adminToken) || text.includes(accountToken)));
  });
});
