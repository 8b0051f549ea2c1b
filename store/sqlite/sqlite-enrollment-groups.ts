import { PlatformError } from '../../errors/platform-error.ts';
import type { EnrollmentGroup, EnrollmentGroupFilter, EnrollmentGroupPatch, NewEnrollmentGroup } from '../enrollment-types.ts';
import type { Page } from '../types.ts';
import type { SqlRunner } from './sql-runner.ts';

/** Not written yet (issue 18): answers NOT_IMPLEMENTED-like errors until it is. */
export class SqliteEnrollmentGroups {
  constructor(private readonly sql: SqlRunner) {}
  create(_input: NewEnrollmentGroup): EnrollmentGroup {
    throw notYet();
  }
  get(_id: string): EnrollmentGroup | null {
    throw notYet();
  }
  list(_filter?: EnrollmentGroupFilter): Page<EnrollmentGroup> {
    throw notYet();
  }
  update(_id: string, _expectedVersion: number, _patch: EnrollmentGroupPatch): EnrollmentGroup {
    throw notYet();
  }
  delete(_id: string): void {
    throw notYet();
  }
}

function notYet(): PlatformError {
  return new PlatformError('STORE_UNAVAILABLE', { detail: 'not written yet' });
}
