import { PlatformError } from '../../errors/platform-error.ts';
import { buildCategory, pageWindow, patchCategory, refusal } from '../records.ts';
import type { Category, CategoryPatch, NewCategory, Page, PageOptions } from '../types.ts';
import { categoryFromRow, categoryToRow, type CategoryRow } from './registry-row-mapping.ts';
import { Conditions, selectPage, type SqlRunner } from './sql-runner.ts';

const insertCategory = `
  INSERT INTO categories (id, account_id, name, description, configuration_id, bundle_ids, created_on, modified_on, version)
  VALUES (@id, @account_id, @name, @description, @configuration_id, @bundle_ids, @created_on, @modified_on, @version)`;

/** Compare-and-set on version; the name never changes, so its unique index is never rewritten. */
const updateCategory = `
  UPDATE categories SET description = @description, configuration_id = @configuration_id, bundle_ids = @bundle_ids,
    modified_on = @modified_on, version = @version
  WHERE id = @id AND version = @expected_version`;

/**
 * The categories of each account (issue 15 §2). The unique (account_id, name) constraint refuses a
 * second category of one name (DUPLICATE, sqlite-errors.ts) and serves lookups and listing by name;
 * the foreign key refuses one for an account that does not exist (NOT_FOUND).
 */
export class SqliteCategories {
  constructor(private readonly sql: SqlRunner) {}

  create(input: NewCategory): Category {
    const category = buildCategory(input, Date.now());
    this.sql.run(insertCategory, categoryToRow(category));
    return category;
  }

  get(id: string): Category | null {
    const row = this.sql.get<CategoryRow>('SELECT * FROM categories WHERE id = ?', id);
    return row ? categoryFromRow(row) : null;
  }

  getByName(accountId: string, name: string): Category | null {
    const row = this.sql.get<CategoryRow>('SELECT * FROM categories WHERE account_id = ? AND name = ?', accountId, name);
    return row ? categoryFromRow(row) : null;
  }

  list(accountId: string, page?: PageOptions): Page<Category> {
    const conditions = new Conditions().equal('account_id', accountId);
    return selectPage(this.sql, 'categories', conditions, 'name', pageWindow(page), categoryFromRow);
  }

  update(id: string, expectedVersion: number, patch: CategoryPatch): Category {
    return this.sql.write(() => {
      const current = this.get(id);
      if (!current) throw new PlatformError('NOT_FOUND', { detail: refusal.categoryNotFound });
      if (current.version !== expectedVersion) throw new PlatformError('VERSION_CONFLICT', { detail: refusal.staleVersion });
      const next = patchCategory(current, patch, Date.now());
      const { changes } = this.sql.run(updateCategory, { ...categoryToRow(next), expected_version: expectedVersion });
      if (changes === 0) throw new PlatformError('VERSION_CONFLICT', { detail: refusal.staleVersion });
      return next;
    });
  }

  delete(id: string): void {
    const { changes } = this.sql.run('DELETE FROM categories WHERE id = ?', id);
    if (changes === 0) throw new PlatformError('NOT_FOUND', { detail: refusal.categoryNotFound });
  }
}
