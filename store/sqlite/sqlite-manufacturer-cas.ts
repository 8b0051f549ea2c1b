import { PlatformError } from '../../errors/platform-error.ts';
import { buildFactoryCertificateBlock, buildManufacturerCa, patchManufacturerCa } from '../enrollment-records.ts';
import type { FactoryCertificateBlock, ManufacturerCa, ManufacturerCaPatch, NewManufacturerCa } from '../enrollment-types.ts';
import { pageWindow, refusal } from '../records.ts';
import type { Page, PageOptions } from '../types.ts';
import {
  factoryCertificateBlockFromRow,
  factoryCertificateBlockToRow,
  manufacturerCaFromRow,
  manufacturerCaToRow,
  type FactoryCertificateBlockRow,
  type ManufacturerCaRow,
} from './enrollment-row-mapping.ts';
import { Conditions, selectPage, type SqlRunner } from './sql-runner.ts';

const insertManufacturerCa = `
  INSERT INTO manufacturer_cas (id, name, pem, fingerprint_sha256, subject, not_after, enabled, created_on, modified_on, version)
  VALUES (@id, @name, @pem, @fingerprint_sha256, @subject, @not_after, @enabled, @created_on, @modified_on, @version)`;

/** Compare-and-set on version; only the name and enabled change (the certificate is the CA). */
const updateManufacturerCa = `
  UPDATE manufacturer_cas SET name = @name, enabled = @enabled, modified_on = @modified_on, version = @version
  WHERE id = @id AND version = @expected_version`;

const insertBlock = `
  INSERT INTO factory_certificate_blocks (manufacturer_ca_id, serial, reason, blocked_on, blocked_by)
  VALUES (@manufacturer_ca_id, @serial, @reason, @blocked_on, @blocked_by)`;

/**
 * Manufacturer CAs and the factory certificates blocked one by one under each. The unique name
 * and fingerprint columns refuse a second CA of either (DUPLICATE, sqlite-errors.ts); a CA an
 * enrollment group names stays (the check here, the foreign key as the backstop).
 */
export class SqliteManufacturerCas {
  constructor(private readonly sql: SqlRunner) {}

  create(input: NewManufacturerCa): ManufacturerCa {
    const ca = buildManufacturerCa(input, Date.now());
    this.sql.run(insertManufacturerCa, manufacturerCaToRow(ca));
    return ca;
  }

  get(id: string): ManufacturerCa | null {
    const row = this.sql.get<ManufacturerCaRow>('SELECT * FROM manufacturer_cas WHERE id = ?', id);
    return row ? manufacturerCaFromRow(row) : null;
  }

  list(): ManufacturerCa[] {
    return this.sql.all<ManufacturerCaRow>('SELECT * FROM manufacturer_cas ORDER BY created_on, id').map(manufacturerCaFromRow);
  }

  update(id: string, expectedVersion: number, patch: ManufacturerCaPatch): ManufacturerCa {
    return this.sql.write(() => {
      const current = this.get(id);
      if (!current) throw new PlatformError('NOT_FOUND', { detail: refusal.manufacturerCaNotFound });
      if (current.version !== expectedVersion) throw new PlatformError('VERSION_CONFLICT', { detail: refusal.staleVersion });
      const next = patchManufacturerCa(current, patch, Date.now());
      const { changes } = this.sql.run(updateManufacturerCa, { ...manufacturerCaToRow(next), expected_version: expectedVersion });
      if (changes === 0) throw new PlatformError('VERSION_CONFLICT', { detail: refusal.staleVersion });
      return next;
    });
  }

  delete(id: string): void {
    this.sql.write(() => {
      if (!this.get(id)) throw new PlatformError('NOT_FOUND', { detail: refusal.manufacturerCaNotFound });
      if (this.sql.get('SELECT 1 FROM enrollment_groups WHERE manufacturer_ca_id = ? LIMIT 1', id)) {
        throw new PlatformError('DUPLICATE', { detail: refusal.manufacturerCaInUse });
      }
      this.sql.run('DELETE FROM factory_certificate_blocks WHERE manufacturer_ca_id = ?', id);
      this.sql.run('DELETE FROM manufacturer_cas WHERE id = ?', id);
    });
  }

  block(input: FactoryCertificateBlock): FactoryCertificateBlock {
    const block = buildFactoryCertificateBlock(input);
    return this.sql.write(() => {
      if (!this.get(block.manufacturerCaId)) throw new PlatformError('NOT_FOUND', { detail: refusal.manufacturerCaNotFound });
      this.sql.run(insertBlock, factoryCertificateBlockToRow(block));
      return block;
    });
  }

  getBlock(manufacturerCaId: string, serial: string): FactoryCertificateBlock | null {
    const row = this.sql.get<FactoryCertificateBlockRow>(
      'SELECT * FROM factory_certificate_blocks WHERE manufacturer_ca_id = ? AND serial = ?',
      manufacturerCaId,
      serial.toLowerCase(),
    );
    return row ? factoryCertificateBlockFromRow(row) : null;
  }

  listBlocks(manufacturerCaId: string, page?: PageOptions): Page<FactoryCertificateBlock> {
    const conditions = new Conditions().equal('manufacturer_ca_id', manufacturerCaId);
    return selectPage(this.sql, 'factory_certificate_blocks', conditions, 'blocked_on DESC, serial DESC', pageWindow(page), factoryCertificateBlockFromRow);
  }

  unblock(manufacturerCaId: string, serial: string): void {
    const { changes } = this.sql.run(
      'DELETE FROM factory_certificate_blocks WHERE manufacturer_ca_id = ? AND serial = ?',
      manufacturerCaId,
      serial.toLowerCase(),
    );
    if (changes === 0) throw new PlatformError('NOT_FOUND', { detail: refusal.factoryCertificateNotBlocked });
  }
}
