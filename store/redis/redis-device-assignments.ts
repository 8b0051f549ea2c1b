import { PlatformError } from '../../errors/platform-error.ts';
import type { DeviceAssignment, DeviceAssignmentInput } from '../enrollment-types.ts';
import type { Page, PageOptions } from '../types.ts';
import type { RedisContext } from './redis-context.ts';

/** Not written yet (issue 18): answers NOT_IMPLEMENTED-like errors until it is. */
export class RedisDeviceAssignments {
  constructor(private readonly context: RedisContext) {}
  get(_clientId: string): Promise<DeviceAssignment | null> {
    return Promise.reject(notYet());
  }
  put(_assignment: DeviceAssignmentInput): Promise<DeviceAssignment> {
    return Promise.reject(notYet());
  }
  list(_page?: PageOptions): Promise<Page<DeviceAssignment>> {
    return Promise.reject(notYet());
  }
  delete(_clientId: string): Promise<void> {
    return Promise.reject(notYet());
  }
}

function notYet(): PlatformError {
  return new PlatformError('STORE_UNAVAILABLE', { detail: 'not written yet' });
}
