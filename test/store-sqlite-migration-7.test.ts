import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { applyMigrations, migrations, schemaVersion } from '../store/sqlite/migrations.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';

/**
 * Migration 7 (issue 15's device registry) on a database the previous platform wrote: its rows
 * read back as they were, with the new fields' empty values, and the new operations work on them.
 */

const createdOn = 1_700_000_000_000;
const configurationContent = { 'mqtt.broker': 'mqtts://broker.example:8883', interval: 30 };

/** A version 6 database at `file` (migrations 1..6, as the previous platform left it) with one of each record. */
function writeVersion6Database(file: string): void {
  const db = new Database(file);
  try {
    applyMigrations(db, migrations.slice(0, 6));
    assert.equal(schemaVersion(db), 6);
    db.prepare(
      `INSERT INTO accounts (id, name, broker_url, configuration_template, default_bundle_ids, created_on, modified_on, version)
       VALUES ('a1', 'acme', NULL, '{}', '["b1"]', @createdOn, @createdOn, 1)`,
    ).run({ createdOn });
    db.prepare(`INSERT INTO configurations (id, account_id, name, content, created_on) VALUES ('c1', 'a1', 'base', @content, @createdOn)`).run({
      content: JSON.stringify(configurationContent),
      createdOn,
    });
    db.prepare(
      `INSERT INTO provision_requests (
         id, account_id, client_id, username, password_hash, activation_key_hash, activates_on, expires_on, retry_max_attempts,
         retry_count, overwrite_if_duplicate, status, job_status, configuration_id, bundle_ids, current_request_id,
         certificate_serial, created_on, created_by, modified_on, modified_by, version, device_model, device_serial, device_firmware)
       VALUES ('r1', 'a1', 'device-1', 'device-1', 'hash', NULL, @createdOn, 4102444800000, 3, 1, 0, 'ENABLED', 'COMPLETED', 'c1',
         '["b1"]', 'req-1', '00ab', @createdOn, 'admin', @createdOn, 'provisioner', 4, 'gw-1', 'sn-1', '1.2.3')`,
    ).run({ createdOn });
    const insertDevice = db.prepare(
      `INSERT INTO devices (account_id, client_id, online, certificate_serial, expected_configuration_hash, reported_configuration_hash,
         provisioned_on, last_birth_on, last_seen_on, modified_on)
       VALUES ('a1', @clientId, @online, '00ab', 'hash-x', 'hash-x', @createdOn, @createdOn, @createdOn, @createdOn)`,
    );
    insertDevice.run({ clientId: 'device-1', online: 1, createdOn });
    insertDevice.run({ clientId: 'device-2', online: 0, createdOn });
  } finally {
    db.close();
  }
}

describe('sqlite migration 7 (device registry) on a version 6 database', () => {
  async function migrated(t: { after(fn: () => void | Promise<void>): void }) {
    const dir = mkdtempSync(join(tmpdir(), 'provisio-migration-7-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'provisio.db');
    writeVersion6Database(file);
    const store = openSqliteStore(file);
    t.after(() => store.close());
    return { store, file };
  }

  it('migrates to the latest schema version', async (t) => {
    const { store, file } = await migrated(t);
    await store.close();
    const db = new Database(file, { readonly: true });
    t.after(() => db.close());
    assert.equal(schemaVersion(db), migrations.length);
  });

  it('keeps the account and the request, which has no category and no tags', async (t) => {
    const { store } = await migrated(t);
    assert.deepEqual(await store.getAccount('a1'), {
      id: 'a1',
      name: 'acme',
      brokerUrl: null,
      configurationTemplate: {},
      defaultBundleIds: ['b1'],
      createdOn,
      modifiedOn: createdOn,
      version: 1,
    });
    assert.deepEqual(await store.getProvisionRequest('r1'), {
      id: 'r1',
      accountId: 'a1',
      clientId: 'device-1',
      username: 'device-1',
      passwordHash: 'hash',
      activationKeyHash: null,
      activatesOn: createdOn,
      expiresOn: 4102444800000,
      retryMaxAttempts: 3,
      retryCount: 1,
      overwriteIfDuplicate: false,
      status: 'ENABLED',
      jobStatus: 'COMPLETED',
      configurationId: 'c1',
      bundleIds: ['b1'],
      category: null,
      tags: [],
      currentRequestId: 'req-1',
      certificateSerial: '00ab',
      device: { model: 'gw-1', serial: 'sn-1', firmware: '1.2.3' },
      createdOn,
      createdBy: 'admin',
      modifiedOn: createdOn,
      modifiedBy: 'provisioner',
      version: 4,
    });
    assert.equal((await store.listProvisionRequests({ category: 'sensors' })).total, 0);
  });

  it('makes each configuration its own version 1, by nobody, and edits go on from there', async (t) => {
    const { store } = await migrated(t);
    const configuration = { id: 'c1', accountId: 'a1', name: 'base', content: configurationContent, version: 1, createdOn, modifiedOn: createdOn };
    assert.deepEqual(await store.getConfiguration('c1'), configuration);
    const first = { configurationId: 'c1', version: 1, content: configurationContent, createdOn, createdBy: '' };
    assert.deepEqual(await store.listConfigurationVersions('c1'), { items: [first], total: 1, offset: 0, limit: 50 });
    assert.deepEqual(await store.getConfigurationVersion('c1', 1), first);

    const edited = await store.updateConfigurationContent('c1', 1, { interval: 60 }, 'admin');
    assert.equal(edited.version, 2);
    assert.deepEqual(
      (await store.listConfigurationVersions('c1')).items.map(({ version, createdBy }) => ({ version, createdBy })),
      [
        { version: 2, createdBy: 'admin' },
        { version: 1, createdBy: '' },
      ],
    );
  });

  it('gives each device an opaque id of its own and the registry fields empty', async (t) => {
    const { store } = await migrated(t);
    const one = await store.getDevice('a1', 'device-1');
    const two = await store.getDevice('a1', 'device-2');
    assert.ok(one && two);
    assert.match(one.id, /^[0-9a-f]{32}$/);
    assert.match(two.id, /^[0-9a-f]{32}$/);
    assert.notEqual(one.id, two.id);
    assert.deepEqual(one, {
      id: one.id,
      accountId: 'a1',
      clientId: 'device-1',
      online: true,
      brokerId: null,
      category: null,
      tags: [],
      model: null,
      serial: null,
      firmware: null,
      certificateSerial: '00ab',
      certificateNotAfter: null,
      configurationId: null,
      configurationVersion: null,
      expectedConfigurationHash: 'hash-x',
      reportedConfigurationHash: 'hash-x',
      configurationState: null,
      configurationError: null,
      bundles: [],
      trustedRoots: [],
      provisionedOn: createdOn,
      lastBirthOn: createdOn,
      lastSeenOn: createdOn,
      modifiedOn: createdOn,
    });
    assert.deepEqual(await store.getDeviceById(one.id), one);
    assert.deepEqual(await store.getDeviceById(two.id), two);
  });

  it('keeps a migrated device id through upserts and filters migrated devices by the new fields', async (t) => {
    const { store } = await migrated(t);
    const before = await store.getDevice('a1', 'device-1');
    const patched = await store.upsertDevice('a1', 'device-1', { brokerId: 'broker-1', category: 'sensors', tags: ['roof', 'north'] });
    assert.equal(patched.id, before?.id);
    assert.deepEqual(patched.tags, ['north', 'roof']);
    assert.deepEqual(
      (await store.listDevices({ configurationInSync: true })).items.map((device) => device.clientId),
      ['device-1', 'device-2'],
    );
    assert.deepEqual(
      (await store.listDevices({ accountId: 'a1', category: 'sensors', tag: 'roof' })).items.map((device) => device.clientId),
      ['device-1'],
    );
    assert.equal(await store.markBrokerDevicesOffline('broker-1', createdOn + 1), 1);
    assert.equal((await store.getDevice('a1', 'device-1'))?.online, false);
  });
});
