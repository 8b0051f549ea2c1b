import { PlatformError } from '../../errors/platform-error.ts';
import { pageWindow, refusal } from '../records.ts';
import { emptyDevice, givenDevicePatch, patchDevice } from '../registry-records.ts';
import type { DeviceFilter, DevicePatch, DeviceRecord, Page } from '../types.ts';
import { deviceFromRow, deviceToRow, type DeviceRow } from './registry-row-mapping.ts';
import { Conditions, selectPage, type SqlRunner } from './sql-runner.ts';

/** The column each patchable field is stored in. */
const patchColumns: Readonly<Record<keyof DevicePatch, keyof DeviceRow>> = {
  online: 'online',
  brokerId: 'broker_id',
  category: 'category',
  tags: 'tags',
  model: 'model',
  serial: 'serial',
  firmware: 'firmware',
  certificateSerial: 'certificate_serial',
  certificateNotAfter: 'certificate_not_after',
  configurationId: 'configuration_id',
  configurationVersion: 'configuration_version',
  expectedConfigurationHash: 'expected_configuration_hash',
  reportedConfigurationHash: 'reported_configuration_hash',
  configurationState: 'configuration_state',
  configurationError: 'configuration_error',
  bundles: 'bundles',
  trustedRoots: 'trusted_roots',
  provisionedOn: 'provisioned_on',
  lastBirthOn: 'last_birth_on',
  lastSeenOn: 'last_seen_on',
};

/** Every column of a device row: what a new device is inserted with. */
const deviceColumns = ['id', 'account_id', 'client_id', 'modified_on', ...Object.values(patchColumns)] as const;

/**
 * One statement, so atomic on its own: a new device is inserted with the patch over the empty
 * defaults (and a new id); an existing one takes only the patched columns (and modified_on), so
 * it keeps its id. Column names come from patchColumns, never from input: each set of fields
 * the callers patch together is one text to prepare (a birth, a disconnect, a configuration
 * answer, …), and a column left out of SET keeps its index entries untouched.
 */
function upsertDevice(patched: readonly (keyof DevicePatch)[], unlessOfflineSince: boolean): string {
  const assignments = [...patched.map((field) => patchColumns[field]), 'modified_on'].map((column) => `${column} = excluded.${column}`);
  // A stale event (the device's disconnect was recorded after it): no update, so no row returned.
  const condition = unlessOfflineSince ? 'WHERE NOT (devices.online = 0 AND devices.last_seen_on IS NOT NULL AND devices.last_seen_on >= @event_on)' : '';
  return `
    INSERT INTO devices (${deviceColumns.join(', ')})
    VALUES (${deviceColumns.map((column) => `@${column}`).join(', ')})
    ON CONFLICT (account_id, client_id) DO UPDATE SET ${assignments.join(', ')} ${condition}
    RETURNING *`;
}

/** What configurationInSync asks of the two hashes; devices without an expected hash match neither. */
const configurationSync = {
  inSync: 'expected_configuration_hash IS NOT NULL AND expected_configuration_hash = reported_configuration_hash',
  outOfSync: 'expected_configuration_hash IS NOT NULL AND (reported_configuration_hash IS NULL OR reported_configuration_hash <> expected_configuration_hash)',
} as const;

export class SqliteDevices {
  constructor(private readonly sql: SqlRunner) {}

  upsert(accountId: string, clientId: string, patch: DevicePatch): DeviceRecord {
    const given = givenDevicePatch(patch);
    const now = Date.now();
    const inserted = patchDevice(emptyDevice(accountId, clientId, now), given, now);
    const row = this.sql.get<DeviceRow>(upsertDevice(Object.keys(given) as (keyof DevicePatch)[], false), deviceToRow(inserted));
    if (!row) throw new Error('the device upsert returned no row');
    return deviceFromRow(row);
  }

  upsertUnlessOfflineSince(accountId: string, clientId: string, patch: DevicePatch, eventOn: number): DeviceRecord | null {
    const given = givenDevicePatch(patch);
    const now = Date.now();
    const inserted = patchDevice(emptyDevice(accountId, clientId, now), given, now);
    const row = this.sql.get<DeviceRow>(upsertDevice(Object.keys(given) as (keyof DevicePatch)[], true), { ...deviceToRow(inserted), event_on: eventOn });
    return row ? deviceFromRow(row) : null;
  }

  get(accountId: string, clientId: string): DeviceRecord | null {
    const row = this.sql.get<DeviceRow>('SELECT * FROM devices WHERE account_id = ? AND client_id = ?', accountId, clientId);
    return row ? deviceFromRow(row) : null;
  }

  getById(id: string): DeviceRecord | null {
    const row = this.sql.get<DeviceRow>('SELECT * FROM devices WHERE id = ?', id);
    return row ? deviceFromRow(row) : null;
  }

  list(filter: DeviceFilter = {}): Page<DeviceRecord> {
    const inSync = filter.configurationInSync;
    const conditions = new Conditions()
      .equal('account_id', filter.accountId)
      .equal('client_id', filter.clientId)
      .equal('online', filter.online === undefined ? undefined : filter.online ? 1 : 0)
      .equal('category', filter.category)
      .holds('tags', filter.tag)
      .holds('trusted_roots', filter.trustsRoot)
      .equal('model', filter.model)
      .equal('firmware', filter.firmware)
      .equal('broker_id', filter.brokerId)
      .fixed(inSync === undefined ? undefined : inSync ? configurationSync.inSync : configurationSync.outOfSync)
      .below('certificate_not_after', filter.certificateExpiresBefore);
    return selectPage(this.sql, 'devices', conditions, 'account_id, client_id', pageWindow(filter), deviceFromRow);
  }

  delete(accountId: string, clientId: string): void {
    const { changes } = this.sql.run('DELETE FROM devices WHERE account_id = ? AND client_id = ?', accountId, clientId);
    if (changes === 0) throw new PlatformError('NOT_FOUND', { detail: refusal.deviceNotFound });
  }

  /**
   * One statement: each device changes only if it is still online with this broker when the
   * UPDATE reaches it, so one that meanwhile came online elsewhere is left alone.
   */
  markBrokerOffline(brokerId: string, now: number): number {
    const { changes } = this.sql.run('UPDATE devices SET online = 0, last_seen_on = @now, modified_on = @now WHERE broker_id = @broker_id AND online = 1', {
      broker_id: brokerId,
      now,
    });
    return changes;
  }

  markOffline(accountId: string, clientId: string, brokerId: string, now: number): boolean {
    const { changes } = this.sql.run(
      `UPDATE devices SET online = 0, last_seen_on = @now, modified_on = @now
        WHERE account_id = @account_id AND client_id = @client_id
          AND NOT (online = 1 AND broker_id IS NOT NULL AND broker_id <> @broker_id)`,
      { account_id: accountId, client_id: clientId, broker_id: brokerId, now },
    );
    return changes > 0;
  }
}
