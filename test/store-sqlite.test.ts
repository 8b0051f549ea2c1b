import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openStore, sqliteFileName } from '../store/open-store.ts';
import { applyMigrations, migrations, schemaVersion } from '../store/sqlite/migrations.ts';
import { openDatabase } from '../store/sqlite/open-database.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { ProvisionStore } from '../store/types.ts';
import { storeContract } from './store-contract.ts';

/** A store on a file in its own temp dir; cleanup closes every handle and removes the dir. */
async function openTempSqlite() {
  const dir = mkdtempSync(join(tmpdir(), 'provisio-sqlite-'));
  const file = join(dir, 'provisio.db');
  const store = openSqliteStore(file);
  return {
    store,
    async openAnother(): Promise<ProvisionStore> {
      return openSqliteStore(file);
    },
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

storeContract('sqlite', openTempSqlite);

describe('sqlite store specifics', () => {
  function withTempDir(t: { after(fn: () => void): void }): string {
    const dir = mkdtempSync(join(tmpdir(), 'provisio-sqlite-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  it('numbers its migrations 1..n in order', () => {
    assert.deepEqual(
      migrations.map((migration) => migration.version),
      migrations.map((_, index) => index + 1),
    );
  });

  it('migrates a new database to the latest schema version and applies nothing twice on reopen', async (t) => {
    const file = join(withTempDir(t), 'provisio.db');
    await openSqliteStore(file).close();
    await openSqliteStore(file).close();
    const db = new Database(file);
    t.after(() => db.close());
    assert.equal(schemaVersion(db), migrations.length);
    assert.deepEqual(applyMigrations(db), [], 'a current schema gets no migration');
    assert.equal(schemaVersion(db), migrations.length);
  });

  it('applies each pending migration once, in one transaction, reporting the versions applied', (t) => {
    const db = new Database(join(withTempDir(t), 'provisio.db'));
    t.after(() => db.close());
    assert.deepEqual(
      applyMigrations(db),
      migrations.map((migration) => migration.version),
    );
    assert.deepEqual(applyMigrations(db), []);
  });

  it('rolls back every pending migration when one of them fails', (t) => {
    const db = new Database(join(withTempDir(t), 'provisio.db'));
    t.after(() => db.close());
    const broken = [
      { version: 1, description: 'fine', sql: 'CREATE TABLE first_table (id TEXT PRIMARY KEY)' },
      { version: 2, description: 'broken', sql: 'CREATE TABLE second_table (' },
    ];
    assert.throws(() => applyMigrations(db, broken));
    assert.equal(schemaVersion(db), 0);
    assert.deepEqual(db.prepare("SELECT name FROM sqlite_master WHERE name = 'first_table'").all(), []);
  });

  it('gives the requests of a version 3 database no device facts, then records them (migration 4)', async (t) => {
    const file = join(withTempDir(t), 'provisio.db');
    const db = new Database(file);
    applyMigrations(db, migrations.slice(0, 3));
    db.prepare("INSERT INTO accounts VALUES ('a1', 'acme', NULL, '{}', '[]', 1, 1, 1)").run();
    db.prepare(
      `INSERT INTO provision_requests VALUES ('r1', 'a1', 'device-1', 'device-1', 'hash', NULL, 1, 4102444800000, 3, 0, 0,
        'ENABLED', 'CREATED', NULL, '[]', NULL, NULL, 1, 'admin', 1, 'admin', 1)`,
    ).run();
    db.close();
    const store = openSqliteStore(file);
    t.after(() => store.close());
    const request = await store.getProvisionRequest('r1');
    assert.deepEqual(request?.device, { model: null, serial: null, firmware: null });
    const updated = await store.updateProvisionRequest('r1', 1, { modifiedBy: 'provisioner', device: { model: 'm', serial: 's', firmware: 'f' } });
    assert.deepEqual(await store.getProvisionRequest('r1'), updated);
    assert.deepEqual(updated.device, { model: 'm', serial: 's', firmware: 'f' });
  });

  it('refuses a database written by a newer platform (schema version beyond its migrations)', async (t) => {
    const file = join(withTempDir(t), 'provisio.db');
    const db = new Database(file);
    db.pragma(`user_version = ${migrations.length + 1}`);
    db.close();
    assert.throws(
      () => openSqliteStore(file),
      (error: Error & { code?: string }) => error.code === 'STORE_UNAVAILABLE',
    );
  });

  it('runs in WAL mode with foreign keys on and a busy timeout', async (t) => {
    const file = join(withTempDir(t), 'provisio.db');
    const store = openSqliteStore(file);
    t.after(() => store.close());
    const db = new Database(file);
    t.after(() => db.close());
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal', 'WAL is a property of the file');
    const own = openDatabase(file); // foreign_keys and busy_timeout belong to a connection: one opened as the store's is
    t.after(() => own.close());
    assert.equal(own.pragma('foreign_keys', { simple: true }), 1);
    assert.ok((own.pragma('busy_timeout', { simple: true }) as number) > 0);
  });

  it('leaves no WAL content behind after close (checkpointed)', async (t) => {
    const dir = withTempDir(t);
    const store = openSqliteStore(join(dir, 'provisio.db'));
    await store.setSettingIfAbsent('k', 'v');
    await store.close();
    const wal = join(dir, 'provisio.db-wal');
    assert.ok(!existsSync(wal) || statSync(wal).size === 0);
  });

  it('commits the writes of one turn together: each is on disk when its promise settles, and a refused one does not take the others along', async (t) => {
    const file = join(withTempDir(t), 'provisio.db');
    const store = openSqliteStore(file);
    t.after(() => store.close());
    const reader = new Database(file, { readonly: true });
    t.after(() => reader.close());
    const committedNames = () => (reader.prepare('SELECT name FROM accounts ORDER BY name').all() as { name: string }[]).map((row) => row.name);

    const names = Array.from({ length: 50 }, (_, index) => `group-${String(index).padStart(2, '0')}`);
    // All issued in the same turn; one of them repeats a name and must be refused alone.
    const writes = [...names, 'group-07'].map((name) => store.createAccount({ name, brokerUrl: null, configurationTemplate: {}, defaultBundleIds: [] }));
    const outcomes = await Promise.allSettled(writes);

    assert.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 50);
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
    assert.equal(refused.length, 1);
    assert.equal((refused[0] as PromiseRejectedResult).reason.code, 'DUPLICATE');
    assert.deepEqual(committedNames(), names, 'another connection reads every acknowledged write');

    // A write read back with RETURNING (the device upsert) waits for the commit like any other.
    const account = await store.getAccountByName('group-00');
    assert.ok(account);
    const audit = store.appendAudit({
      type: 'test.group',
      outcome: 'success',
      actor: 'test',
      accountId: null,
      clientId: null,
      provisionRequestId: null,
      detail: {},
    });
    const devices = Array.from({ length: 20 }, (_, index) => store.upsertDevice(account.id, `device-${index}`, { online: true }));
    await devices[19];
    const { total } = reader.prepare('SELECT count(*) AS total FROM devices').get() as { total: number };
    assert.equal(total, 20, 'the last acknowledged upsert and every one before it are committed');
    await Promise.all([audit, ...devices]);
  });

  it('works in memory for tests', async () => {
    const store = openSqliteStore(':memory:');
    await store.setSettingIfAbsent('k', 'v');
    assert.equal(await store.getSetting('k'), 'v');
    await store.close();
  });

  it('is what openStore opens by default, creating the data directory', async (t) => {
    const dataDir = join(withTempDir(t), 'nested', 'data');
    const store = await openStore({ dataDir, storeBackend: 'sqlite', redisUrl: 'redis://unused', redisKeyPrefix: 'p:' });
    t.after(() => store.close());
    assert.equal(store.backend, 'sqlite');
    await store.setSettingIfAbsent('k', 'v');
    assert.ok(existsSync(join(dataDir, sqliteFileName)));
  });
});
