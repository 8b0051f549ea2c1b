import { PlatformError } from '../../errors/platform-error.ts';
import type { NewProvisioningCode, ProvisioningCode, ProvisioningCodeFilter } from '../enrollment-types.ts';
import type { Page } from '../types.ts';
import type { RedisContext } from './redis-context.ts';

/** Not written yet (issue 18): answers NOT_IMPLEMENTED-like errors until it is. */
export class RedisProvisioningCodes {
  constructor(private readonly context: RedisContext) {}
  createMany(_codes: readonly NewProvisioningCode[]): Promise<ProvisioningCode[]> {
    return Promise.reject(notYet());
  }
  get(_id: string): Promise<ProvisioningCode | null> {
    return Promise.reject(notYet());
  }
  findByHash(_codeHash: string): Promise<ProvisioningCode | null> {
    return Promise.reject(notYet());
  }
  list(_filter?: ProvisioningCodeFilter): Promise<Page<ProvisioningCode>> {
    return Promise.reject(notYet());
  }
  bind(_id: string, _clientId: string, _provisionRequestId: string): Promise<boolean> {
    return Promise.reject(notYet());
  }
  markRegistered(_id: string, _now: number): Promise<boolean> {
    return Promise.reject(notYet());
  }
  delete(_id: string): Promise<void> {
    return Promise.reject(notYet());
  }
  deleteExpired(_now: number): Promise<number> {
    return Promise.reject(notYet());
  }
}

function notYet(): PlatformError {
  return new PlatformError('STORE_UNAVAILABLE', { detail: 'not written yet' });
}
