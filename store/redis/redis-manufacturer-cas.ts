import { PlatformError } from '../../errors/platform-error.ts';
import type { FactoryCertificateBlock, ManufacturerCa, ManufacturerCaPatch, NewManufacturerCa } from '../enrollment-types.ts';
import type { Page, PageOptions } from '../types.ts';
import type { RedisContext } from './redis-context.ts';

/** Not written yet (issue 18): answers NOT_IMPLEMENTED-like errors until it is. */
export class RedisManufacturerCas {
  constructor(private readonly context: RedisContext) {}
  create(_input: NewManufacturerCa): Promise<ManufacturerCa> {
    return Promise.reject(notYet());
  }
  get(_id: string): Promise<ManufacturerCa | null> {
    return Promise.reject(notYet());
  }
  list(): Promise<readonly ManufacturerCa[]> {
    return Promise.reject(notYet());
  }
  update(_id: string, _expectedVersion: number, _patch: ManufacturerCaPatch): Promise<ManufacturerCa> {
    return Promise.reject(notYet());
  }
  delete(_id: string): Promise<void> {
    return Promise.reject(notYet());
  }
  block(_block: FactoryCertificateBlock): Promise<FactoryCertificateBlock> {
    return Promise.reject(notYet());
  }
  getBlock(_manufacturerCaId: string, _serial: string): Promise<FactoryCertificateBlock | null> {
    return Promise.reject(notYet());
  }
  listBlocks(_manufacturerCaId: string, _page?: PageOptions): Promise<Page<FactoryCertificateBlock>> {
    return Promise.reject(notYet());
  }
  unblock(_manufacturerCaId: string, _serial: string): Promise<void> {
    return Promise.reject(notYet());
  }
}

function notYet(): PlatformError {
  return new PlatformError('STORE_UNAVAILABLE', { detail: 'not written yet' });
}
