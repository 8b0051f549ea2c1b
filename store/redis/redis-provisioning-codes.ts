import { boundProvisioningCode, buildProvisioningCode, registeredProvisioningCode } from '../enrollment-records.ts';
import type { NewProvisioningCode, ProvisioningCode, ProvisioningCodeFilter } from '../enrollment-types.ts';
import { pageWindow } from '../records.ts';
import type { Page } from '../types.ts';
import { loadStrings, pageFromIndex } from './index-paging.ts';
import {
  createProvisioningCodesScript,
  deleteExpiredProvisioningCodesScript,
  deleteProvisioningCodeScript,
  replacePendingCodeScript,
} from './provisioning-code-scripts.ts';
import { parseRecord, type RedisContext } from './redis-context.ts';
import { retry, retryWhileChanged } from './script-runner.ts';

/** How many expired codes one sweep script deletes: a bounded script, the sweep repeating until none is left. */
const sweepBatch = 500;

/**
 * Provisioning codes: records by id, the hash key of each PENDING one (unique: what a CONNECT
 * finds it by), indexes by createdOn (all, an account's: the latter keeps the account) and the
 * PENDING ones by expiresOn. A change of a code is a compare-and-set on its whole record, so of
 * two CONNECTs binding one code to different devices exactly one wins.
 */
export class RedisProvisioningCodes {
  constructor(private readonly context: RedisContext) {}

  /** One script for the batch: all or nothing. */
  async createMany(inputs: readonly NewProvisioningCode[]): Promise<ProvisioningCode[]> {
    const { keys, scripts } = this.context;
    const now = Date.now();
    const codes = inputs.map((input) => buildProvisioningCode(input, now));
    if (codes.length === 0) return [];
    await scripts.run(
      createProvisioningCodesScript,
      [
        keys.provisioningCodes(),
        keys.pendingProvisioningCodes(),
        ...codes.flatMap((code) => [
          keys.provisioningCode(code.id),
          keys.provisioningCodeHash(code.codeHash ?? ''),
          keys.account(code.accountId),
          keys.accountProvisioningCodes(code.accountId),
        ]),
      ],
      codes.flatMap((code) => [code.id, JSON.stringify(code), code.createdOn, code.expiresOn, code.codeHash === null ? '0' : '1']),
    );
    return codes;
  }

  async get(id: string): Promise<ProvisioningCode | null> {
    const json = await this.context.redis.get(this.context.keys.provisioningCode(id));
    return json ? parseRecord<ProvisioningCode>(json) : null;
  }

  async findByHash(codeHash: string): Promise<ProvisioningCode | null> {
    const id = await this.context.redis.get(this.context.keys.provisioningCodeHash(codeHash));
    const code = id ? await this.get(id) : null;
    // Registered (its hash removed) between the two reads: no longer found by it.
    return code?.codeHash === codeHash ? code : null;
  }

  list(filter: ProvisioningCodeFilter = {}): Promise<Page<ProvisioningCode>> {
    const { redis, keys } = this.context;
    const { accountId, status, category } = filter;
    return pageFromIndex(
      redis,
      {
        index: accountId !== undefined ? keys.accountProvisioningCodes(accountId) : keys.provisioningCodes(),
        load: (ids) =>
          loadStrings(
            redis,
            ids.map((id) => keys.provisioningCode(id)),
          ),
        parse: (json) => parseRecord<ProvisioningCode>(json),
        matches:
          status !== undefined || category !== undefined
            ? (code) => (status === undefined || code.status === status) && (category === undefined || code.category === category)
            : undefined,
      },
      pageWindow(filter),
    );
  }

  bind(id: string, clientId: string, provisionRequestId: string): Promise<boolean> {
    return this.replacePending(id, (current) => boundProvisioningCode(current, clientId, provisionRequestId), false);
  }

  markRegistered(id: string, now: number): Promise<boolean> {
    return this.replacePending(id, (current) => registeredProvisioningCode(current, now), true);
  }

  async delete(id: string): Promise<void> {
    const { keys, scripts } = this.context;
    const current = await this.get(id);
    // An unknown id still goes through the script, which answers NOT_FOUND.
    await scripts.run(
      deleteProvisioningCodeScript,
      [
        keys.provisioningCode(id),
        keys.provisioningCodeHash(current?.codeHash ?? ''),
        keys.provisioningCodes(),
        keys.accountProvisioningCodes(current?.accountId ?? ''),
        keys.pendingProvisioningCodes(),
      ],
      [id],
    );
  }

  /** Reads the PENDING codes due by expiresOn in batches; the script deletes those still PENDING. */
  async deleteExpired(now: number): Promise<number> {
    const { redis, keys, scripts } = this.context;
    let deleted = 0;
    for (;;) {
      const ids = await redis.zrangebyscore(keys.pendingProvisioningCodes(), '-inf', now, 'LIMIT', 0, sweepBatch);
      if (ids.length === 0) return deleted;
      const stored = await loadStrings(
        redis,
        ids.map((id) => keys.provisioningCode(id)),
      );
      const codes = ids.map((id, index) => {
        const json = stored[index];
        const code = json ? parseRecord<ProvisioningCode>(json) : null;
        return { id, hashKey: keys.provisioningCodeHash(code?.codeHash ?? ''), accountCodes: keys.accountProvisioningCodes(code?.accountId ?? '') };
      });
      const { values } = await scripts.run(
        deleteExpiredProvisioningCodesScript,
        [
          keys.provisioningCodes(),
          keys.pendingProvisioningCodes(),
          ...codes.flatMap((code) => [keys.provisioningCode(code.id), code.hashKey, code.accountCodes]),
        ],
        [now, ...ids],
      );
      deleted += Number(values[0]);
      if (ids.length < sweepBatch) return deleted;
    }
  }

  /**
   * Compare-and-set from what was read: `change` answers the next record, or null when the code
   * does not take the change (not PENDING, held by another device); a gone code is false.
   */
  private replacePending(id: string, change: (current: ProvisioningCode) => ProvisioningCode | null, registering: boolean): Promise<boolean> {
    const { redis, keys, scripts } = this.context;
    return retryWhileChanged(async () => {
      const json = await redis.get(keys.provisioningCode(id));
      if (!json) return false;
      const current = parseRecord<ProvisioningCode>(json);
      const next = change(current);
      if (!next) return false;
      const nextJson = JSON.stringify(next);
      if (nextJson === json) return true;
      const { outcome } = await scripts.run(
        replacePendingCodeScript,
        [keys.provisioningCode(id), keys.provisioningCodeHash(current.codeHash ?? ''), keys.pendingProvisioningCodes()],
        [id, json, nextJson, registering ? '1' : '0'],
      );
      return outcome === 'RETRY' ? retry : true;
    });
  }
}
