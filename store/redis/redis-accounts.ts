import { PlatformError } from '../../errors/platform-error.ts';
import { buildAccount, pageWindow, patchAccount, refusal } from '../records.ts';
import type { Account, AccountPatch, NewAccount, Page, PageOptions } from '../types.ts';
import { loadStrings, pageFromIndex } from './index-paging.ts';
import { createAccountScript, deleteAccountScript, updateAccountScript } from './record-scripts.ts';
import { categoryOfMember } from './redis-categories.ts';
import { parseRecord, type RedisContext } from './redis-context.ts';
import { retry, retryWhileChanged } from './script-runner.ts';

export class RedisAccounts {
  constructor(private readonly context: RedisContext) {}

  async create(input: NewAccount): Promise<Account> {
    const { keys, scripts } = this.context;
    const account = buildAccount(input, Date.now());
    await scripts.run(
      createAccountScript,
      [keys.account(account.id), keys.accountName(account.name), keys.accounts()],
      [account.id, JSON.stringify(account), account.createdOn],
    );
    return account;
  }

  async get(id: string): Promise<Account | null> {
    const json = await this.context.redis.get(this.context.keys.account(id));
    return json ? parseRecord<Account>(json) : null;
  }

  async getByName(name: string): Promise<Account | null> {
    const id = await this.context.redis.get(this.context.keys.accountName(name));
    const account = id ? await this.get(id) : null;
    // A rename between the two reads would otherwise answer an account with another name.
    return account?.name === name ? account : null;
  }

  list(page?: PageOptions): Promise<Page<Account>> {
    const { redis, keys } = this.context;
    return pageFromIndex(
      redis,
      {
        index: keys.accounts(),
        load: (ids) =>
          loadStrings(
            redis,
            ids.map((id) => keys.account(id)),
          ),
        parse: (json) => parseRecord<Account>(json),
      },
      pageWindow(page),
    );
  }

  async update(id: string, expectedVersion: number, patch: AccountPatch): Promise<Account> {
    const { keys, scripts } = this.context;
    const current = await this.get(id);
    if (!current) throw new PlatformError('NOT_FOUND', { detail: refusal.accountNotFound });
    if (current.version !== expectedVersion) throw new PlatformError('VERSION_CONFLICT', { detail: refusal.staleVersion });
    const next = patchAccount(current, patch, Date.now());
    await scripts.run(
      updateAccountScript,
      [keys.account(id), keys.accountName(current.name), keys.accountName(next.name)],
      [id, expectedVersion, JSON.stringify(next)],
    );
    return next;
  }

  /** Its categories go with it (the script refuses, RETRY, when they changed since they were read). */
  async delete(id: string): Promise<void> {
    const { keys, scripts } = this.context;
    await retryWhileChanged(async () => {
      const current = await this.get(id);
      if (!current) throw new PlatformError('NOT_FOUND', { detail: refusal.accountNotFound });
      const categories = (await this.context.redis.zrange(keys.accountCategories(id), 0, -1)).map((member) => ({ member, ...categoryOfMember(member) }));
      const { outcome } = await scripts.run(
        deleteAccountScript,
        [
          keys.account(id),
          keys.accountName(current.name),
          keys.accounts(),
          keys.accountRequests(id),
          keys.accountConfigurations(id),
          keys.accountBundles(id),
          keys.accountEnrollmentGroups(id),
          keys.accountProvisioningCodes(id),
          keys.accountCategories(id),
          ...categories.flatMap((category) => [keys.category(category.id), keys.categoryName(id, category.name)]),
        ],
        [id, current.version, ...categories.flatMap((category) => [category.member, category.id])],
      );
      return outcome === 'RETRY' ? retry : undefined;
    });
  }
}
