import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { requireRedisOrSkip, startRedisOrSkip } from '../dev-support/redis-server.ts';
import { refusal } from '../store/records.ts';
import { openRedisStore } from '../store/redis/redis-store.ts';
import { applyMigrations, migrations, schemaVersion } from '../store/sqlite/migrations.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { newEnrollmentGroup, newManufacturerCa, newProvisioningCode } from './store-contract/enrollment-fixtures.ts';
import { newAccount, rejectsWith } from './store-contract/fixtures.ts';

/**
 * Zero-touch onboarding (issue 18) in each backend's own terms. What both must do is the store
 * contract (test/store-contract/manufacturer-cas.ts, enrollment-groups.ts, provisioning-codes.ts,
 * device-assignments.ts, run by store-sqlite and store-redis); here: SQLite's migration 10 on a
 * database the previous platform wrote, and the keys Redis keeps and frees.
 */

const server = await startRedisOrSkip();
after(() => server?.stop());

describe('sqlite store: migration 10 (zero-touch onboarding)', () => {
  it('upgrades a version 9 database: its account takes enrollment groups and codes and is then kept by them', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'provisio-sqlite-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'provisio.db');
    const db = new Database(file);
    applyMigrations(db, migrations.slice(0, 9));
    db.prepare("INSERT INTO accounts VALUES ('a1', 'acme', NULL, '{}', '[]', 1, 1, 1)").run();
    db.close();

    const store = openSqliteStore(file);
    t.after(() => store.close());
    const ca = await store.createManufacturerCa(newManufacturerCa());
    const group = await store.createEnrollmentGroup(newEnrollmentGroup('a1', ca.id));
    const [code] = await store.createProvisioningCodes([newProvisioningCode('a1')]);
    assert.deepEqual((await store.listEnrollmentGroups({ accountId: 'a1' })).items, [group]);
    assert.deepEqual(await store.findProvisioningCodeByHash(code!.codeHash!), code);
    await rejectsWith(store.deleteAccount('a1'), 'DUPLICATE', refusal.accountHasEnrollmentGroups);

    const reader = new Database(file, { readonly: true });
    t.after(() => reader.close());
    assert.equal(schemaVersion(reader), 10);
    const indexes = (reader.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]).map(
      (row) => row.name,
    );
    for (const name of ['provisioning_codes_by_hash', 'provisioning_codes_by_expiry', 'enrollment_groups_by_manufacturer_ca', 'device_assignments_by_change']) {
      assert.ok(indexes.includes(name), `index ${name}`);
    }
  });

  it('finds a code by its hash and sweeps expired ones through their indexes, not by scanning the table', (t) => {
    const db = new Database(':memory:');
    t.after(() => db.close());
    applyMigrations(db);
    const plan = (sql: string) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((row) => row.detail).join('; ');
    assert.match(plan("SELECT * FROM provisioning_codes WHERE code_hash = 'h'"), /USING INDEX provisioning_codes_by_hash/);
    assert.match(plan("DELETE FROM provisioning_codes WHERE status = 'PENDING' AND expires_on <= 5"), /USING (COVERING )?INDEX provisioning_codes_by_expiry/);
    assert.match(plan("SELECT * FROM enrollment_groups WHERE manufacturer_ca_id = 'c' ORDER BY created_on, id"), /enrollment_groups_by_manufacturer_ca/);
  });
});

describe('redis store: keys of zero-touch onboarding', () => {
  async function openWithRaw(t: { after(fn: () => Promise<unknown>): void }) {
    const keyPrefix = `test:${randomUUID()}:`;
    const store = await openRedisStore({ url: server!.url, keyPrefix });
    const raw = new Redis(server!.url);
    t.after(async () => {
      await store.close();
      await raw.quit();
    });
    return { store, raw, keyPrefix };
  }

  it('removes the hash key of a code registered, and leaves the pending set', async (t) => {
    if (!requireRedisOrSkip(t, server)) return;
    const { store, raw, keyPrefix } = await openWithRaw(t);
    const account = await store.createAccount(newAccount());
    const [code] = await store.createProvisioningCodes([newProvisioningCode(account.id)]);
    assert.equal(await raw.get(`${keyPrefix}provisioning-code-hash:${code!.codeHash}`), code!.id);
    assert.notEqual(await raw.zscore(`${keyPrefix}pending-provisioning-codes`, code!.id), null);
    assert.equal(await store.markProvisioningCodeRegistered(code!.id, Date.now()), true);
    assert.equal(await raw.exists(`${keyPrefix}provisioning-code-hash:${code!.codeHash}`), 0);
    assert.equal(await raw.zscore(`${keyPrefix}pending-provisioning-codes`, code!.id), null);
  });

  it('leaves no key behind once every record is deleted', async (t) => {
    if (!requireRedisOrSkip(t, server)) return;
    const { store, raw, keyPrefix } = await openWithRaw(t);
    const account = await store.createAccount(newAccount());
    const ca = await store.createManufacturerCa(newManufacturerCa());
    await store.blockFactoryCertificate({ manufacturerCaId: ca.id, serial: '0a', reason: 'stolen', blockedOn: Date.now(), blockedBy: 'admin' });
    const group = await store.createEnrollmentGroup(newEnrollmentGroup(account.id, ca.id, { name: 'renamed later' }));
    await store.updateEnrollmentGroup(group.id, 1, { name: 'renamed' });
    await store.updateManufacturerCa(ca.id, 1, { name: 'renamed CA' });
    const codes = await store.createProvisioningCodes([
      newProvisioningCode(account.id),
      newProvisioningCode(account.id),
      newProvisioningCode(account.id, { expiresOn: Date.now() - 1 }),
    ]);
    await store.markProvisioningCodeRegistered(codes[0]!.id, Date.now());
    await store.putDeviceAssignment({ clientId: 'device:1', enrollmentGroupId: group.id, provisionBrokerUrl: null, modifiedBy: 'admin' });
    assert.ok((await raw.keys(`${keyPrefix}*`)).length > 10);

    assert.equal(await store.deleteExpiredProvisioningCodes(Date.now()), 1);
    await store.deleteProvisioningCode(codes[0]!.id);
    await store.deleteProvisioningCode(codes[1]!.id);
    await store.deleteEnrollmentGroup(group.id);
    await store.deleteManufacturerCa(ca.id);
    await store.deleteDeviceAssignment('device:1');
    await store.deleteAccount(account.id);
    assert.deepEqual(await raw.keys(`${keyPrefix}*`), []);
  });
});
