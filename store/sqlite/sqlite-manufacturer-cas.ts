import { PlatformError } from '../../errors/platform-error.ts';
import type { FactoryCertificateBlock, ManufacturerCa, ManufacturerCaPatch, NewManufacturerCa } from '../enrollment-types.ts';
import type { Page, PageOptions } from '../types.ts';
import type { SqlRunner } from './sql-runner.ts';

/** Not written yet (issue 18): answers NOT_IMPLEMENTED-like errors until it is. */
export class SqliteManufacturerCas {
  constructor(private readonly sql: SqlRunner) {}
  create(_input: NewManufacturerCa): ManufacturerCa {
    throw notYet();
  }
  get(_id: string): ManufacturerCa | null {
    throw notYet();
  }
  list(): readonly ManufacturerCa[] {
    throw notYet();
  }
  update(_id: string, _expectedVersion: number, _patch: ManufacturerCaPatch): ManufacturerCa {
    throw notYet();
  }
  delete(_id: string): void {
    throw notYet();
  }
  block(_block: FactoryCertificateBlock): FactoryCertificateBlock {
    throw notYet();
  }
  getBlock(_manufacturerCaId: string, _serial: string): FactoryCertificateBlock | null {
    throw notYet();
  }
  listBlocks(_manufacturerCaId: string, _page?: PageOptions): Page<FactoryCertificateBlock> {
    throw notYet();
  }
  unblock(_manufacturerCaId: string, _serial: string): void {
    throw notYet();
  }
}

function notYet(): PlatformError {
  return new PlatformError('STORE_UNAVAILABLE', { detail: 'not written yet' });
}
