import { PlatformError } from '../../errors/platform-error.ts';
import { buildCategory, pageWindow, patchCategory, refusal } from '../records.ts';
import type { Category, CategoryPatch, NewCategory, Page, PageOptions } from '../types.ts';
import { createCategoryScript, deleteCategoryScript } from './category-scripts.ts';
import { loadStrings, pageFromIndex } from './index-paging.ts';
import { updateVersionedRecordScript } from './record-scripts.ts';
import { parseRecord, type RedisContext } from './redis-context.ts';

/** Member of the account's categories index (see RedisKeys.accountCategories): name, NUL, id. */
function accountCategoriesMember(category: Pick<Category, 'name' | 'id'>): string {
  return `${category.name}\u0000${category.id}`;
}

/** The name and id an account's categories index member stands for. */
export function categoryOfMember(member: string): Pick<Category, 'name' | 'id'> {
  const separator = member.lastIndexOf('\u0000');
  return { name: member.slice(0, separator), id: member.slice(separator + 1) };
}

/** Categories of devices: records by id, a unique name per account, listed by name. */
export class RedisCategories {
  constructor(private readonly context: RedisContext) {}

  async create(input: NewCategory): Promise<Category> {
    const { keys, scripts } = this.context;
    const category = buildCategory(input, Date.now());
    await scripts.run(
      createCategoryScript,
      [
        keys.category(category.id),
        keys.categoryName(category.accountId, category.name),
        keys.account(category.accountId),
        keys.accountCategories(category.accountId),
      ],
      [category.id, JSON.stringify(category), accountCategoriesMember(category)],
    );
    return category;
  }

  async get(id: string): Promise<Category | null> {
    const json = await this.context.redis.get(this.context.keys.category(id));
    return json ? parseRecord<Category>(json) : null;
  }

  async getByName(accountId: string, name: string): Promise<Category | null> {
    const id = await this.context.redis.get(this.context.keys.categoryName(accountId, name));
    const category = id ? await this.get(id) : null;
    // Deleted, and another made with the same name, between the two reads: not this one.
    return category?.accountId === accountId && category.name === name ? category : null;
  }

  list(accountId: string, page?: PageOptions): Promise<Page<Category>> {
    const { redis, keys } = this.context;
    return pageFromIndex(
      redis,
      {
        index: keys.accountCategories(accountId),
        load: (members) =>
          loadStrings(
            redis,
            members.map((member) => keys.category(categoryOfMember(member).id)),
          ),
        parse: (json) => parseRecord<Category>(json),
      },
      pageWindow(page),
    );
  }

  async update(id: string, expectedVersion: number, patch: CategoryPatch): Promise<Category> {
    const { keys, scripts } = this.context;
    const current = await this.get(id);
    if (!current) throw new PlatformError('NOT_FOUND', { detail: refusal.categoryNotFound });
    if (current.version !== expectedVersion) throw new PlatformError('VERSION_CONFLICT', { detail: refusal.staleVersion });
    const next = patchCategory(current, patch, Date.now());
    await scripts.run(updateVersionedRecordScript, [keys.category(id)], [expectedVersion, JSON.stringify(next), 'categoryNotFound']);
    return next;
  }

  /** Reads the category for its name and account; the script refuses if it is gone meanwhile. */
  async delete(id: string): Promise<void> {
    const { keys, scripts } = this.context;
    const current = await this.get(id);
    // An unknown id still goes through the script, which answers NOT_FOUND.
    const accountId = current?.accountId ?? '';
    await scripts.run(
      deleteCategoryScript,
      [keys.category(id), keys.categoryName(accountId, current?.name ?? ''), keys.accountCategories(accountId)],
      [id, current ? accountCategoriesMember(current) : ''],
    );
  }
}
