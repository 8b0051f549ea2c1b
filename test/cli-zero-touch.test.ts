import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { makeManufacturerCa } from './support/factory-certificates.ts';
import { startTestPlatform, type TestPlatform } from './support/platform-fixture.ts';
import { runProvisioCli, type CliResult } from './support/provisio-cli.ts';

/**
 * Issue 18's admin commands, run as a user runs them (node cli/bin.js, a child process) against a
 * real platform over HTTP: a manufacturer CA registered from a PEM file, an enrollment group on it,
 * provisioning codes written to a CSV file only its owner may read, factory certificates blocked
 * and unblocked, a device assignment set, shown and removed; --json parses, and a bad input is a
 * problem (exit 1) or a usage error (exit 2).
 */
describe('Admin CLI: zero-touch onboarding (provisio manufacturer-cas, enrollment-groups, codes, device-assignments)', () => {
  let fixture: TestPlatform;
  let home: string;
  let caId = '';
  let groupId = '';
  const printed: string[] = [];

  before(async () => {
    fixture = await startTestPlatform({ logLevel: 'warn' });
    home = await mkdtemp(join(tmpdir(), 'provisio-cli-zero-touch-'));
    assert.equal((await fixture.api('POST', '/accounts', { name: 'maker' })).status, 201);
  });
  after(async () => {
    await fixture?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  async function provisio(args: string[], stdin?: string): Promise<CliResult> {
    const env = { PATH: process.env['PATH'] ?? '', HOME: home, PROVISIO_URL: fixture.apiUrl, PROVISIO_TOKEN: fixture.adminToken };
    const result = await runProvisioCli({ args, env, ...(stdin !== undefined ? { stdin } : {}) });
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

  it('Should register a manufacturer CA from a PEM file, list, show, disable and enable it', async () => {
    const ca = makeManufacturerCa('CLI Maker CA');
    const pem = join(home, 'maker-ca.pem');
    await writeFile(pem, ca.certPem);
    const registered = await provisio(['manufacturer-cas', 'register', '--name', 'CLI Maker', '--pem', pem]);
    assert.equal(registered.code, 0, registered.stderr);
    caId = /^id:\s+(\S+)$/m.exec(registered.stdout)?.[1] ?? '';
    assert.ok(caId, registered.stdout);
    assert.match(registered.stdout, /^subject:\s+.*CLI Maker CA/m);
    assert.match(registered.stdout, /^enabled:\s+true$/m);
    const table = await provisio(['manufacturer-cas', 'ls']);
    assert.match(table.stdout, /^ID\s+NAME\s+ENABLED\s+NOT AFTER\s+SHA-256/);
    assert.match(table.stdout, new RegExp(`^${caId}\\s+CLI Maker\\s+yes\\s`, 'm'));
    const shown = await json<{ pem: string; fingerprintSha256: string }>(['manufacturer-cas', 'show', caId]);
    assert.equal(shown.pem.trim(), ca.certPem.trim());
    assert.match(shown.fingerprintSha256, /^[0-9a-f]{64}$/);
    const disabled = await provisio(['manufacturer-cas', 'disable', caId]);
    assert.equal(disabled.code, 0, disabled.stderr);
    assert.equal(disabled.stdout, 'CLI Maker: disabled\n');
    assert.equal((await json<{ enabled: boolean }>(['manufacturer-cas', 'show', caId])).enabled, false);
    assert.equal((await json<{ enabled: boolean; version: number }>(['manufacturer-cas', 'enable', caId])).enabled, true);
    const fromStdin = await provisio(['manufacturer-cas', 'register', '--name', 'Same certificate', '--pem', '-'], ca.certPem);
    assert.equal(fromStdin.code, 1, 'the same certificate twice: 409');
    assert.match(fromStdin.stderr, /409 DUPLICATE/);
  });

  it('Should refuse a bad PEM with the API problem (exit 1) and a missing file or option before sending (exit 2)', async () => {
    const leaf = join(home, 'not-a-ca.pem');
    await writeFile(leaf, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
    const refused = await provisio(['manufacturer-cas', 'register', '--name', 'Broken', '--pem', leaf]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /^provisio: .*\(400 VALIDATION_FAILED\)/);
    assert.match(refused.stderr, /^ {2}body\/pem: /m);
    const asJson = await provisio(['manufacturer-cas', 'register', '--name', 'Broken', '--pem', leaf, '--json']);
    assert.equal(asJson.code, 1);
    assert.equal((JSON.parse(asJson.stdout) as { code: string }).code, 'VALIDATION_FAILED');
    const missing = await provisio(['manufacturer-cas', 'register', '--name', 'Broken', '--pem', join(home, 'no-such.pem')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read/);
    for (const args of [
      ['manufacturer-cas', 'register', '--pem', leaf],
      ['manufacturer-cas', 'block', 'x', '--serial', '1001'],
      ['enrollment-groups', 'create', '--account', 'maker', '--name', 'g'],
      ['enrollment-groups', 'create', '--account', 'maker', '--name', 'g', '--ca', 'x', '--valid-until', 'soon'],
      ['codes', 'create', '--account', 'maker'],
      ['codes', 'create', '--account', 'maker', '--count', '1001'],
      ['codes', 'ls', '--status', 'USED'],
      ['device-assignments', 'set', 'METER-1'],
      ['device-assignments', 'show'],
    ]) {
      const result = await provisio(args);
      assert.equal(result.code, 2, `provisio ${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /--help shows the options/);
    }
  });

  it('Should create an enrollment group on the CA with its lists, show it, disable and enable it', async () => {
    assert.equal((await provisio(['categories', 'create', 'meters', '--account', 'maker'])).code, 0);
    const created = await json<{ id: string; accountId: string; category: string; tags: string[]; allowSerials: string[]; denyClientIds: string[] }>([
      'enrollment-groups',
      'create',
      '--account',
      'maker',
      '--name',
      'meters-2026',
      '--ca',
      caId,
      '--category',
      'meters',
      '--tag',
      'site-1',
      '--tag',
      'batch-7',
      '--reprovision',
      '--allow-serial',
      '00:10:01',
      '--allow-serial',
      '1002',
      '--deny-client-id',
      'METER-666',
      '--valid-until',
      '2099-01-31',
    ]);
    groupId = created.id;
    assert.equal(created.category, 'meters');
    assert.deepEqual(created.tags, ['batch-7', 'site-1']);
    assert.deepEqual(created.allowSerials, ['1001', '1002'], 'serials normalized by the API');
    assert.deepEqual(created.denyClientIds, ['METER-666']);
    const shown = await provisio(['enrollment-groups', 'show', groupId]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^reprovisionAllowed:\s+true$/m);
    assert.match(shown.stdout, /^validUntil:\s+2099-01-31T00:00:00\.000Z$/m);
    const table = await provisio(['enrollment-groups', 'ls', '--account', 'maker', '--ca', caId]);
    assert.match(table.stdout, /^ID\s+ACCOUNT\s+NAME\s+CA\s+CATEGORY\s+ENABLED/);
    assert.match(table.stdout, /\smaker\s+meters-2026\s+\S+\s+meters\s+yes\s/, 'account names, not ids');
    assert.equal((await provisio(['enrollment-groups', 'disable', groupId])).stdout, 'meters-2026: disabled\n');
    assert.equal((await json<{ enabled: boolean }>(['enrollment-groups', 'enable', groupId])).enabled, true);
    const badReference = await provisio(['enrollment-groups', 'create', '--account', 'maker', '--name', 'other', '--ca', 'no-such-ca', '--category', 'nope']);
    assert.equal(badReference.code, 1);
    assert.match(badReference.stderr, /^ {2}body\/manufacturerCaId: /m);
    assert.match(badReference.stderr, /^ {2}body\/category: /m);
    const inUse = await provisio(['manufacturer-cas', 'delete', caId]);
    assert.equal(inUse.code, 1, 'a CA a group names is not deleted');
    assert.match(inUse.stderr, /409 DUPLICATE/);
  });

  it('Should write 3 codes to a new CSV file of mode 0600 without printing them, and list them PENDING', async () => {
    const file = join(home, 'codes.csv');
    const result = await provisio(['codes', 'create', '--account', 'maker', '--category', 'meters', '--count', '3', '--validity-days', '2', '--csv', file]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^wrote 3 code\(s\) to .*codes\.csv \(mode 0600\)/);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const text = await readFile(file, 'utf8');
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, 4, text);
    assert.equal(lines[0], 'id,code,accountId,category,expiresOn');
    const rows = parse(text, { columns: true }) as { id: string; code: string; category: string; expiresOn: string }[];
    for (const row of rows) {
      assert.match(row.code, /^\d{4}-\d{4}-\d{4}$/);
      assert.equal(row.category, 'meters');
      assert.ok(!result.stdout.includes(row.code) && !result.stderr.includes(row.code), 'the codes are in the file only');
    }
    const validFor = Date.parse(rows[0]!.expiresOn) - Date.now();
    assert.ok(validFor > 47 * 3_600_000 && validFor <= 48 * 3_600_000, `${rows[0]!.expiresOn}: --validity-days 2`);
    const pending = await json<Page<{ id: string; status: string; clientId: string | null }>>(['codes', 'ls', '--account', 'maker', '--status', 'pending']);
    assert.deepEqual(pending.items.map((code) => code.id).sort(), rows.map((row) => row.id).sort());
    assert.ok(pending.items.every((code) => code.status === 'PENDING' && code.clientId === null));
    assert.equal((await json<Page<unknown>>(['codes', 'ls', '--account', 'maker', '--status', 'REGISTERED'])).total, 0);
    const table = await provisio(['codes', 'ls', '--account', 'maker']);
    assert.match(table.stdout, /^ID\s+ACCOUNT\s+CATEGORY\s+STATUS\s+CLIENT ID\s+EXPIRES/);
    assert.equal(table.stdout.trimEnd().split('\n').length, 4);
    assert.ok(
      rows.every((row) => !table.stdout.includes(row.code)),
      'never the code in a list',
    );
    const again = await provisio(['codes', 'create', '--account', 'maker', '--count', '1', '--csv', file]);
    assert.equal(again.code, 2, 'an existing file is not overwritten');
    assert.match(again.stderr, /exists/);
    assert.equal(await readFile(file, 'utf8'), text);
    assert.equal((await json<Page<unknown>>(['codes', 'ls', '--account', 'maker'])).total, 3, 'no code made for a file that could not be written');
    const deleted = await provisio(['codes', 'delete', rows[0]!.id]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal((await json<Page<unknown>>(['codes', 'ls', '--account', 'maker', '--status', 'PENDING'])).total, 2);
  });

  it('Should print codes made without --csv once, with a warning, and leave no codes file behind when the API refuses', async () => {
    const printedCodes = await provisio(['codes', 'create', '--account', 'maker', '--count', '2']);
    assert.equal(printedCodes.code, 0, printedCodes.stderr);
    assert.match(printedCodes.stderr, /shown this once/);
    assert.equal([...printedCodes.stdout.matchAll(/\s\d{4}-\d{4}-\d{4}\s/g)].length, 2, printedCodes.stdout);
    const created = await json<{ items: { code: string }[] }>(['codes', 'create', '--account', 'maker', '--count', '1']);
    assert.match(created.items[0]!.code, /^\d{4}-\d{4}-\d{4}$/);
    const file = join(home, 'refused.csv');
    const refused = await provisio(['codes', 'create', '--account', 'maker', '--category', 'no-such-category', '--count', '1', '--csv', file]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /body\/category/);
    await assert.rejects(stat(file), { code: 'ENOENT' }, 'the file made for the codes is removed when none were made');
  });

  it('Should block and unblock a factory certificate serial', async () => {
    const blocked = await provisio(['manufacturer-cas', 'block', caId, '--serial', '00:AB:CD', '--reason', 'reported stolen']);
    assert.equal(blocked.code, 0, blocked.stderr);
    assert.equal(blocked.stdout, 'blocked abcd\n');
    const twice = await provisio(['manufacturer-cas', 'block', caId, '--serial', 'abcd', '--reason', 'again']);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /409 DUPLICATE/);
    const list = await provisio(['manufacturer-cas', 'blocked', caId]);
    assert.match(list.stdout, /^SERIAL\s+BLOCKED\s+BY\s+REASON/);
    assert.match(list.stdout, /^abcd\s+\S+\s+admin\s+reported stolen$/m);
    const page = await json<Page<{ serial: string }>>(['manufacturer-cas', 'blocked', caId]);
    assert.deepEqual(
      page.items.map((block) => block.serial),
      ['abcd'],
    );
    const unblocked = await provisio(['manufacturer-cas', 'unblock', caId, '--serial', 'AB:CD']);
    assert.equal(unblocked.code, 0, unblocked.stderr);
    assert.equal((await json<Page<unknown>>(['manufacturer-cas', 'blocked', caId])).total, 0);
    const badSerial = await provisio(['manufacturer-cas', 'block', caId, '--serial', 'xyz', '--reason', 'r']);
    assert.equal(badSerial.code, 1);
    assert.match(badSerial.stderr, /^ {2}body\/serial: /m);
  });

  it('Should set, show, list and delete a device assignment', async () => {
    const set = await provisio(['device-assignments', 'set', 'METER-7', '--group', groupId]);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, new RegExp(`^enrollmentGroup:\\s+${groupId}$`, 'm'));
    assert.match(set.stdout, /^provisionBrokerUrl:\s+-$/m);
    const moved = await json<{ clientId: string; enrollmentGroupId: string | null; provisionBrokerUrl: string | null }>([
      'device-assignments',
      'set',
      'METER-7',
      '--provision-broker-url',
      'mqtts://other.example:8883',
    ]);
    assert.deepEqual(
      { group: moved.enrollmentGroupId, broker: moved.provisionBrokerUrl },
      { group: null, broker: 'mqtts://other.example:8883' },
      'set replaces the assignment',
    );
    const shown = await json<{ provisionBrokerUrl: string }>(['device-assignments', 'show', 'METER-7']);
    assert.equal(shown.provisionBrokerUrl, 'mqtts://other.example:8883');
    const table = await provisio(['device-assignments', 'ls']);
    assert.match(table.stdout, /^CLIENT ID\s+GROUP\s+PROVISION BROKER/);
    assert.match(table.stdout, /^METER-7\s+-\s+mqtts:\/\/other\.example:8883\s/m);
    const unknownGroup = await provisio(['device-assignments', 'set', 'METER-8', '--group', 'no-such-group']);
    assert.equal(unknownGroup.code, 1);
    assert.match(unknownGroup.stderr, /^ {2}body\/enrollmentGroupId: names no enrollment group$/m);
    const deleted = await provisio(['device-assignments', 'delete', 'METER-7']);
    assert.equal(deleted.code, 0, deleted.stderr);
    const gone = await provisio(['device-assignments', 'show', 'METER-7']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /404 NOT_FOUND/);
  });

  it('Should delete the group, then the CA it named', async () => {
    assert.equal((await provisio(['enrollment-groups', 'delete', groupId])).code, 0);
    assert.equal((await provisio(['enrollment-groups', 'show', groupId])).code, 1);
    const deleted = await json<{ id: string; deleted: boolean }>(['manufacturer-cas', 'delete', caId]);
    assert.deepEqual(deleted, { id: caId, deleted: true });
    const none = await provisio(['manufacturer-cas', 'ls']);
    assert.equal(none.code, 0);
    assert.equal(none.stderr, '(none)\n');
  });

  it('Should answer --help for each new group and command', async () => {
    for (const group of ['manufacturer-cas', 'enrollment-groups', 'codes', 'device-assignments']) {
      const help = await provisio([group, '--help']);
      assert.equal(help.code, 0, help.stderr);
      const commands = [...help.stdout.matchAll(new RegExp(`^ {2}provisio ${group} ([a-z-]+)`, 'gm'))].map((match) => match[1]!);
      assert.ok(commands.length >= 3, help.stdout);
      for (const command of commands) {
        const commandHelp = await provisio([group, command, '--help']);
        assert.equal(commandHelp.code, 0, commandHelp.stderr);
        assert.ok(commandHelp.stdout.startsWith(`provisio ${group} ${command}`), commandHelp.stdout);
        assert.match(commandHelp.stdout, /--json/);
      }
    }
  });

  it('Should never print the token', () => {
    assert.ok(printed.length > 0);
    assert.ok(!printed.some((text) => text.includes(fixture.adminToken)));
  });
});
