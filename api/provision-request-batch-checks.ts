import type { ProvisionStore } from '../store/types.ts';
import { clientIdInUse, refusedClaims, type Claimant } from './client-id-ownership.ts';
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

/** What checkEveryItem reads of each item. */
interface CheckedItem extends BatchItem {
  readonly overwriteIfDuplicate?: boolean;
  readonly configurationId?: string | null;
  readonly bundleIds?: readonly string[];
}

/** How the caller's creations are checked: its claims on clientIds, its references, the activation window of an item. */
export interface ItemChecks<I extends CheckedItem> {
  readonly store: ProvisionStore;
  readonly claimant: Claimant;
  readonly references: ReferenceChecker;
  /** Throws ApiValidationError (path `${prefix}/expiresOn`) when the item's expiresOn is not after its activatesOn. */
  checkWindow(item: I, prefix: string): void;
}

/**
 * For an all-or-nothing batch (a CSV import): everything that would make an item fail on its own,
 * checked for every item before anything is created, so that a bad row leaves nothing behind. The
 * findings are VALIDATION_FAILED naming each item (body/requests/{index}/{field}): its activation
 * window, the records it names, and its clientId, when another account holds it (refusedClaims, with
 * the one answer an account token gets) or its account already has a request for it and
 * overwriteIfDuplicate is not set. What changes between this check and the creation (a concurrent
 * creation of the same clientId) still fails that item on its own, as in a JSON batch.
 */
export async function checkEveryItem<I extends CheckedItem>(items: readonly I[], checks: ItemChecks<I>): Promise<void> {
  const errors: FieldError[] = [];
  const collect = (error: unknown) => {
    if (!(error instanceof ApiValidationError)) throw error;
    errors.push(...error.errors);
  };
  for (const [index, item] of items.entries()) {
    const prefix = `body/requests/${index}`;
    try {
      checks.checkWindow(item, prefix);
    } catch (error) {
      collect(error);
    }
    await checks.references.check(prefix, item).catch(collect);
  }
  const refusals = await refusedClaims(checks.store, items, checks.claimant);
  const holders = await checks.store.findClientIdHolders(items.map((item) => item.clientId));
  for (const [index, item] of items.entries()) {
    const path = `body/requests/${index}/clientId`;
    const refusal = refusals.get(index);
    if (refusal) errors.push({ path, message: refusal.detail ?? refusal.message });
    else if (!item.overwriteIfDuplicate && holders.get(item.clientId)?.requestAccountIds.includes(item.accountId)) {
      const message = checks.claimant.admin
        ? 'the account already has a request for this clientId; set overwriteIfDuplicate to true to replace it'
        : (clientIdInUse().detail ?? 'is already in use');
      errors.push({ path, message });
    }
  }
  if (errors.length > 0) throw new ApiValidationError(errors.sort((a, b) => itemIndexOf(a) - itemIndexOf(b)));
}

/** The item a finding is on, to list the findings item by item. */
function itemIndexOf(error: FieldError): number {
  return Number(/^body\/requests\/(\d+)/.exec(error.path)?.[1] ?? -1);
}
