import { PlatformError } from '../../errors/platform-error.ts';
import type { NewProvisioningCode, ProvisioningCode, ProvisioningCodeFilter } from '../enrollment-types.ts';
import type { Page } from '../types.ts';
import type { SqlRunner } from './sql-runner.ts';

/** Not written yet (issue 18): answers NOT_IMPLEMENTED-like errors until it is. */
export class SqliteProvisioningCodes {
  constructor(private readonly sql: SqlRunner) {}
  createMany(_codes: readonly NewProvisioningCode[]): ProvisioningCode[] {
    throw notYet();
  }
  get(_id: string): ProvisioningCode | null {
    throw notYet();
  }
  findByHash(_codeHash: string): ProvisioningCode | null {
    throw notYet();
  }
  list(_filter?: ProvisioningCodeFilter): Page<ProvisioningCode> {
    throw notYet();
  }
  bind(_id: string, _clientId: string, _provisionRequestId: string): boolean {
    throw notYet();
  }
  markRegistered(_id: string, _now: number): boolean {
    throw notYet();
  }
  delete(_id: string): void {
    throw notYet();
  }
  deleteExpired(_now: number): number {
    throw notYet();
  }
}

function notYet(): PlatformError {
  return new PlatformError('STORE_UNAVAILABLE', { detail: 'not written yet' });
}
