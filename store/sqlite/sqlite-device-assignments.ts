import { PlatformError } from '../../errors/platform-error.ts';
import { buildDeviceAssignment } from '../enrollment-records.ts';
import type { DeviceAssignment, DeviceAssignmentInput } from '../enrollment-types.ts';
import { pageWindow, refusal } from '../records.ts';
import type { Page, PageOptions } from '../types.ts';
import { deviceAssignmentFromRow, deviceAssignmentToRow, type DeviceAssignmentRow } from './enrollment-row-mapping.ts';
import { Conditions, selectPage, type SqlRunner } from './sql-runner.ts';

/** One statement creates or replaces: the last put wins whole. */
const putAssignment = `
  INSERT INTO device_assignments (client_id, enrollment_group_id, provision_broker_url, modified_on, modified_by)
  VALUES (@client_id, @enrollment_group_id, @provision_broker_url, @modified_on, @modified_by)
  ON CONFLICT (client_id) DO UPDATE SET enrollment_group_id = excluded.enrollment_group_id,
    provision_broker_url = excluded.provision_broker_url, modified_on = excluded.modified_on, modified_by = excluded.modified_by`;

/** Where discovery sends a device with a factory certificate, by its CN; platform-wide. */
export class SqliteDeviceAssignments {
  constructor(private readonly sql: SqlRunner) {}

  get(clientId: string): DeviceAssignment | null {
    const row = this.sql.get<DeviceAssignmentRow>('SELECT * FROM device_assignments WHERE client_id = ?', clientId);
    return row ? deviceAssignmentFromRow(row) : null;
  }

  put(input: DeviceAssignmentInput): DeviceAssignment {
    const assignment = buildDeviceAssignment(input, Date.now());
    this.sql.run(putAssignment, deviceAssignmentToRow(assignment));
    return assignment;
  }

  list(page?: PageOptions): Page<DeviceAssignment> {
    return selectPage(this.sql, 'device_assignments', new Conditions(), 'modified_on, client_id', pageWindow(page), deviceAssignmentFromRow);
  }

  delete(clientId: string): void {
    const { changes } = this.sql.run('DELETE FROM device_assignments WHERE client_id = ?', clientId);
    if (changes === 0) throw new PlatformError('NOT_FOUND', { detail: refusal.deviceAssignmentNotFound });
  }
}
