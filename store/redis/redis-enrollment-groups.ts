import { PlatformError } from '../../errors/platform-error.ts';
import type { EnrollmentGroup, EnrollmentGroupFilter, EnrollmentGroupPatch, NewEnrollmentGroup } from '../enrollment-types.ts';
import type { Page } from '../types.ts';
import type { RedisContext } from './redis-context.ts';

/** Not written yet (issue 18): answers NOT_IMPLEMENTED-like errors until it is. */
export class RedisEnrollmentGroups {
  constructor(private readonly context: RedisContext) {}
  create(_input: NewEnrollmentGroup): Promise<EnrollmentGroup> {
    return Promise.reject(notYet());
  }
  get(_id: string): Promise<EnrollmentGroup | null> {
    return Promise.reject(notYet());
  }
  list(_filter?: EnrollmentGroupFilter): Promise<Page<EnrollmentGroup>> {
    return Promise.reject(notYet());
  }
  update(_id: string, _expectedVersion: number, _patch: EnrollmentGroupPatch): Promise<EnrollmentGroup> {
    return Promise.reject(notYet());
  }
  delete(_id: string): Promise<void> {
    return Promise.reject(notYet());
  }
}

function notYet(): PlatformError {
  return new PlatformError('STORE_UNAVAILABLE', { detail: 'not written yet' });
}
