import { ApiValidationError, type FieldError } from './problem.ts';
import type { ReferenceChecker } from './reference-checker.ts';

/** What the whole-batch checks read of each item. */
interface BatchItem {
  readonly accountId: string;
  readonly clientId: string;
  readonly category?: string | null;
}

/**
 * What makes a whole batch of provision requests invalid (400, nothing created), rather than
 * failing the items on their own:
 * - a clientId named twice, since which item wins would depend on timing;
 * - a category that names no category of the item's account. A batch normally puts a fleet into
 *   one category, so a misspelt name is a mistake in the batch, not in one device; creating the
 *   rest would leave devices provisioned outside the category they were meant for, their
 *   credentials handed out. Items of an account that does not exist fail on their own as before.
 */
export async function checkWholeBatch(items: readonly BatchItem[], references: ReferenceChecker): Promise<void> {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  items.forEach((item, index) => {
    if (seen.has(item.clientId)) errors.push({ path: `body/requests/${index}/clientId`, message: 'appears more than once in the batch' });
    seen.add(item.clientId);
  });
  if (errors.length > 0) throw new ApiValidationError(errors);

  for (const [index, item] of items.entries()) {
    if (!item.category || !(await references.account(item.accountId))) continue;
    try {
      await references.check(`body/requests/${index}`, { accountId: item.accountId, category: item.category });
    } catch (error) {
      if (!(error instanceof ApiValidationError)) throw error;
      errors.push(...error.errors);
    }
  }
  if (errors.length > 0) throw new ApiValidationError(errors);
}
