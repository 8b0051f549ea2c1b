import type { Account, BundleMetadata, Category, Configuration, ProvisionStore } from '../store/types.ts';
import { ApiValidationError, type FieldError } from './problem.ts';

/**
 * Checks that the records a request points at exist and belong to the same account. Look-ups
 * are memoised for the checker's lifetime, so a batch of a thousand requests naming the same
 * account and bundles asks the store once each.
 */
export class ReferenceChecker {
  private readonly accounts = new Map<string, Promise<Account | null>>();
  private readonly configurations = new Map<string, Promise<Configuration | null>>();
  private readonly bundles = new Map<string, Promise<BundleMetadata | null>>();
  /** Keyed by account id and name: a category name is unique only within its account. */
  private readonly categories = new Map<string, Promise<Category | null>>();

  constructor(private readonly store: ProvisionStore) {}

  account(id: string): Promise<Account | null> {
    return memo(this.accounts, id, () => this.store.getAccount(id));
  }

  /** Throws VALIDATION_FAILED naming every bad reference; `prefix` is e.g. 'body' or 'body/requests/3'. */
  async check(
    prefix: string,
    refs: {
      accountId: string;
      configurationId?: string | null;
      bundleIds?: readonly string[];
      /** A category name of the account (null or absent: none named). */
      category?: string | null;
      accountMustExist?: boolean;
      /** Field name of the bundle list in error paths (default bundleIds). */
      bundleField?: string;
    },
  ): Promise<void> {
    const errors: FieldError[] = [];
    if (refs.accountMustExist !== false && !(await this.account(refs.accountId))) {
      errors.push({ path: `${prefix}/accountId`, message: 'names no existing account' });
    }
    if (refs.configurationId) {
      const id = refs.configurationId;
      const configuration = await memo(this.configurations, id, () => this.store.getConfiguration(id));
      if (!configuration || configuration.accountId !== refs.accountId) {
        errors.push({ path: `${prefix}/configurationId`, message: 'names no configuration of this account' });
      }
    }
    if (refs.category) {
      const { accountId } = refs;
      const name = refs.category;
      const category = await memo(this.categories, `${accountId}\u0000${name}`, () => this.store.getCategoryByName(accountId, name));
      if (!category) errors.push({ path: `${prefix}/category`, message: 'names no category of this account' });
    }
    for (const [index, id] of (refs.bundleIds ?? []).entries()) {
      const bundle = await memo(this.bundles, id, () => this.store.getBundle(id));
      if (!bundle || bundle.accountId !== refs.accountId) {
        errors.push({ path: `${prefix}/${refs.bundleField ?? 'bundleIds'}/${index}`, message: 'names no bundle of this account' });
      }
    }
    if (errors.length > 0) throw new ApiValidationError(errors);
  }
}

function memo<T>(cache: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
  let value = cache.get(key);
  if (!value) {
    value = load();
    cache.set(key, value);
  }
  return value;
}
