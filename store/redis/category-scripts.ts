import { defineScript } from './script-runner.ts';

/**
 * Category scripts. category-name:{accountId}:{name} holds the one category of that name in
 * the account; account-categories:{accountId} lists them by name (members `{name}\0{id}`).
 * An update changes neither (the name never changes): record-scripts.ts updateVersionedRecordScript.
 */

/** KEYS: category, categoryName, account, accountCategories. ARGV: id, json, accountCategoriesMember */
export const createCategoryScript = defineScript(
  'create_category',
  4,
  `
if redis.call('EXISTS', KEYS[3]) == 0 then return {'NOT_FOUND', 'accountNotFound'} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {'DUPLICATE', 'categoryNameTaken'} end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[4], 0, ARGV[3])
return {'OK'}
`,
);

/** KEYS: category, categoryName, accountCategories. ARGV: id, accountCategoriesMember */
export const deleteCategoryScript = defineScript(
  'delete_category',
  3,
  `
if redis.call('DEL', KEYS[1]) == 0 then return {'NOT_FOUND', 'categoryNotFound'} end
delete_if_points_to(KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[2])
return {'OK'}
`,
);

export const categoryScripts = [createCategoryScript, deleteCategoryScript];
