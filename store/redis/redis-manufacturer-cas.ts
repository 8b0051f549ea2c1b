import { PlatformError } from '../../errors/platform-error.ts';
import { buildFactoryCertificateBlock, buildManufacturerCa, patchManufacturerCa } from '../enrollment-records.ts';
import type { FactoryCertificateBlock, ManufacturerCa, ManufacturerCaPatch, NewManufacturerCa } from '../enrollment-types.ts';
import { pageWindow, refusal } from '../records.ts';
import type { Page, PageOptions } from '../types.ts';
import {
  blockFactoryCertificateScript,
  createManufacturerCaScript,
  deleteManufacturerCaScript,
  unblockFactoryCertificateScript,
  updateNamedRecordScript,
} from './enrollment-scripts.ts';
import { loadStrings, pageFromIndex } from './index-paging.ts';
import { parseRecord, type RedisContext } from './redis-context.ts';
import { retry, retryWhileChanged } from './script-runner.ts';

/**
 * Manufacturer CAs (records by id, unique name and fingerprint keys, an index by createdOn) and
 * the factory certificates blocked under each (a hash by serial, a sorted set by blockedOn).
 */
export class RedisManufacturerCas {
  constructor(private readonly context: RedisContext) {}

  async create(input: NewManufacturerCa): Promise<ManufacturerCa> {
    const { keys, scripts } = this.context;
    const ca = buildManufacturerCa(input, Date.now());
    await scripts.run(
      createManufacturerCaScript,
      [keys.manufacturerCa(ca.id), keys.manufacturerCaName(ca.name), keys.manufacturerCaFingerprint(ca.fingerprintSha256), keys.manufacturerCas()],
      [ca.id, JSON.stringify(ca), ca.createdOn],
    );
    return ca;
  }

  async get(id: string): Promise<ManufacturerCa | null> {
    const json = await this.context.redis.get(this.context.keys.manufacturerCa(id));
    return json ? parseRecord<ManufacturerCa>(json) : null;
  }

  /** A platform has few: all of them, oldest first. */
  async list(): Promise<ManufacturerCa[]> {
    const { redis, keys } = this.context;
    const ids = await redis.zrange(keys.manufacturerCas(), 0, -1);
    const stored = await loadStrings(
      redis,
      ids.map((id) => keys.manufacturerCa(id)),
    );
    return stored.filter((json): json is string => json !== null).map((json) => parseRecord<ManufacturerCa>(json));
  }

  async update(id: string, expectedVersion: number, patch: ManufacturerCaPatch): Promise<ManufacturerCa> {
    const { keys, scripts } = this.context;
    const current = await this.get(id);
    if (!current) throw new PlatformError('NOT_FOUND', { detail: refusal.manufacturerCaNotFound });
    if (current.version !== expectedVersion) throw new PlatformError('VERSION_CONFLICT', { detail: refusal.staleVersion });
    const next = patchManufacturerCa(current, patch, Date.now());
    await scripts.run(
      updateNamedRecordScript,
      [keys.manufacturerCa(id), keys.manufacturerCaName(current.name), keys.manufacturerCaName(next.name)],
      [id, expectedVersion, JSON.stringify(next), 'manufacturerCaNotFound', 'manufacturerCaNameTaken'],
    );
    return next;
  }

  /** The script refuses (RETRY) when the CA was renamed since it was read, so its name key is the one freed. */
  async delete(id: string): Promise<void> {
    const { keys, scripts } = this.context;
    await retryWhileChanged(async () => {
      const current = await this.get(id);
      if (!current) throw new PlatformError('NOT_FOUND', { detail: refusal.manufacturerCaNotFound });
      const { outcome } = await scripts.run(
        deleteManufacturerCaScript,
        [
          keys.manufacturerCa(id),
          keys.manufacturerCaName(current.name),
          keys.manufacturerCaFingerprint(current.fingerprintSha256),
          keys.manufacturerCas(),
          keys.manufacturerCaEnrollmentGroups(id),
          keys.factoryCertificateBlocks(id),
          keys.factoryCertificateBlockTimes(id),
        ],
        [id, current.version],
      );
      return outcome === 'RETRY' ? retry : undefined;
    });
  }

  async block(input: FactoryCertificateBlock): Promise<FactoryCertificateBlock> {
    const { keys, scripts } = this.context;
    const block = buildFactoryCertificateBlock(input);
    await scripts.run(
      blockFactoryCertificateScript,
      [
        keys.manufacturerCa(block.manufacturerCaId),
        keys.factoryCertificateBlocks(block.manufacturerCaId),
        keys.factoryCertificateBlockTimes(block.manufacturerCaId),
      ],
      [block.serial, JSON.stringify(block), block.blockedOn],
    );
    return block;
  }

  async getBlock(manufacturerCaId: string, serial: string): Promise<FactoryCertificateBlock | null> {
    const json = await this.context.redis.hget(this.context.keys.factoryCertificateBlocks(manufacturerCaId), serial.toLowerCase());
    return json ? parseRecord<FactoryCertificateBlock>(json) : null;
  }

  listBlocks(manufacturerCaId: string, page?: PageOptions): Promise<Page<FactoryCertificateBlock>> {
    const { redis, keys } = this.context;
    return pageFromIndex(
      redis,
      {
        index: keys.factoryCertificateBlockTimes(manufacturerCaId),
        newestFirst: true,
        load: (serials) => redis.hmget(keys.factoryCertificateBlocks(manufacturerCaId), ...serials),
        parse: (json) => parseRecord<FactoryCertificateBlock>(json),
      },
      pageWindow(page),
    );
  }

  async unblock(manufacturerCaId: string, serial: string): Promise<void> {
    const { keys, scripts } = this.context;
    await scripts.run(
      unblockFactoryCertificateScript,
      [keys.factoryCertificateBlocks(manufacturerCaId), keys.factoryCertificateBlockTimes(manufacturerCaId)],
      [serial.toLowerCase()],
    );
  }
}
