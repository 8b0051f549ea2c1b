import type { Category } from '../store/types.ts';
import { iso } from './views.ts';

/** A category on the wire (schema Category): ISO date-times. */
export function categoryView(category: Category) {
  return {
    id: category.id,
    accountId: category.accountId,
    name: category.name,
    description: category.description,
    configurationId: category.configurationId,
    bundleIds: [...category.bundleIds],
    createdOn: iso(category.createdOn),
    modifiedOn: iso(category.modifiedOn),
    version: category.version,
  };
}
