import { PlatformError } from '../../errors/platform-error.ts';
import type { DeviceAssignment, DeviceAssignmentInput } from '../enrollment-types.ts';
import type { Page, PageOptions } from '../types.ts';
import type { SqlRunner } from './sql-runner.ts';

/** Not written yet (issue 18): answers NOT_IMPLEMENTED-like errors until it is. */
export class SqliteDeviceAssignments {
  constructor(private readonly sql: SqlRunner) {}
  get(_clientId: string): DeviceAssignment | null {
    throw notYet();
  }
  put(_assignment: DeviceAssignmentInput): DeviceAssignment {
    throw notYet();
  }
  list(_page?: PageOptions): Page<DeviceAssignment> {
    throw notYet();
  }
  delete(_clientId: string): void {
    throw notYet();
  }
}

function notYet(): PlatformError {
  return new PlatformError('STORE_UNAVAILABLE', { detail: 'not written yet' });
}
