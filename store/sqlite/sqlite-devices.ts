import { PlatformError } from '../../errors/platform-error.ts';
import { emptyDevice, givenDevicePatch, pageWindow, patchDevice, refusal } from '../records.ts';
import type { DeviceFilter, DevicePatch, DeviceRecord, Page } from '../types.ts';
import { deviceFromRow, deviceToRow, type DeviceRow } from './row-mapping.ts';
import { Conditions, selectPage, type SqlRunner } from './sql-runner.ts';

/** The column each patchable field is stored in. */
const patchColumns: Readonly<Record<keyof DevicePatch, keyof DeviceRow>> = {
  online: 'online',
  certificateSerial: 'certificate_serial',
  expectedConfigurationHash: 'expected_configuration_hash',
  reportedConfigurationHash: 'reported_configuration_hash',
  provisionedOn: 'provisioned_on',
  lastBirthOn: 'last_birth_on',
  lastSeenOn: 'last_seen_on',
};

/**
 * One statement, so atomic on its own: a new device is inserted with the patch over the empty
 * defaults; an existing one takes only the patched columns (and modified_on). Column names come
 * from patchColumns, never from input, so there are at most 2^7 texts to prepare.
 */
function upsertDevice(patched: readonly (keyof DevicePatch)[]): string {
  const assignments = [...patched.map((field) => patchColumns[field]), 'modified_on'].map((column) => `${column} = excluded.${column}`);
  return `
    INSERT INTO devices (
      account_id, client_id, online, certificate_serial, expected_configuration_hash, reported_configuration_hash,
      provisioned_on, last_birth_on, last_seen_on, modified_on)
    VALUES (
      @account_id, @client_id, @online, @certificate_serial, @expected_configuration_hash, @reported_configuration_hash,
      @provisioned_on, @last_birth_on, @last_seen_on, @modified_on)
    ON CONFLICT (account_id, client_id) DO UPDATE SET ${assignments.join(', ')}
    RETURNING *`;
}

export class SqliteDevices {
  constructor(private readonly sql: SqlRunner) {}

  upsert(accountId: string, clientId: string, patch: DevicePatch): DeviceRecord {
    const given = givenDevicePatch(patch);
    const now = Date.now();
    const inserted = patchDevice(emptyDevice(accountId, clientId, now), given, now);
    const row = this.sql.get<DeviceRow>(upsertDevice(Object.keys(given) as (keyof DevicePatch)[]), deviceToRow(inserted));
    if (!row) throw new Error('the device upsert returned no row');
    return deviceFromRow(row);
  }

  get(accountId: string, clientId: string): DeviceRecord | null {
    const row = this.sql.get<DeviceRow>('SELECT * FROM devices WHERE account_id = ? AND client_id = ?', accountId, clientId);
    return row ? deviceFromRow(row) : null;
  }

  list(filter: DeviceFilter = {}): Page<DeviceRecord> {
    const conditions = new Conditions()
      .equal('account_id', filter.accountId)
      .equal('client_id', filter.clientId)
      .equal('online', filter.online === undefined ? undefined : filter.online ? 1 : 0);
    return selectPage(this.sql, 'devices', conditions, 'account_id, client_id', pageWindow(filter), deviceFromRow);
  }

  delete(accountId: string, clientId: string): void {
    const { changes } = this.sql.run('DELETE FROM devices WHERE account_id = ? AND client_id = ?', accountId, clientId);
    if (changes === 0) throw new PlatformError('NOT_FOUND', { detail: refusal.deviceNotFound });
  }
}
