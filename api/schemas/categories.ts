import { Type } from '@sinclair/typebox';
import { bundleIdListSchema } from './accounts.ts';
import { dateTimeSchema, idSchema, noControlCharacters, Nullable, pageQueryProperties, pageSchema, versionSchema, withDefault, withOptions } from './common.ts';

/**
 * Categories of devices and free tags (issue 15 §2). A category name is what provision requests,
 * devices, update jobs and list filters name, and it lands in CSV exports and query strings: a
 * plain word (letters, digits, '.', '_', '-', starting with a letter or digit) needs no quoting
 * or escaping anywhere, and it never changes once the category is created.
 */
export const categoryNameSchema = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
  description: "Name of a category of the account: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.",
});

/** A free tag: anything an operator likes, but no control character (a line break would split a CSV or log line). */
export const tagSchema = Type.String({ minLength: 1, maxLength: 64, pattern: noControlCharacters, description: '1 to 64 characters, no control characters.' });

export const maxTags = 32;

export const tagListSchema = Type.Array(tagSchema, {
  maxItems: maxTags,
  description: `At most ${maxTags} tags; stored sorted, without repeats.`,
});

const descriptionSchema = Type.String({
  maxLength: 1024,
  description: 'Free text for operators (at most 1024 characters).',
});

const categoryConfigurationIdSchema = Nullable(
  withOptions(idSchema, {
    description: 'Configuration of the same account for devices of the category whose request names none; null: the account template.',
  }),
);

const categoryBundleIdsSchema = withOptions(bundleIdListSchema, {
  description: "At most nine bundles of the same account for devices of the category whose request names none; empty: the account's default bundles.",
});

export const newCategorySchema = Type.Object(
  {
    accountId: idSchema,
    name: categoryNameSchema,
    description: withDefault(descriptionSchema, ''),
    configurationId: withDefault(categoryConfigurationIdSchema, null),
    bundleIds: withDefault(categoryBundleIdsSchema, []),
  },
  { additionalProperties: false },
);

export const categoryPatchSchema = Type.Object(
  {
    version: versionSchema,
    description: Type.Optional(descriptionSchema),
    configurationId: Type.Optional(categoryConfigurationIdSchema),
    bundleIds: Type.Optional(categoryBundleIdsSchema),
  },
  { additionalProperties: false, minProperties: 2, description: 'The name never changes: devices, requests and jobs name the category by it.' },
);

export const categorySchema = Type.Object(
  {
    id: idSchema,
    accountId: idSchema,
    name: categoryNameSchema,
    description: descriptionSchema,
    configurationId: categoryConfigurationIdSchema,
    bundleIds: categoryBundleIdsSchema,
    createdOn: dateTimeSchema,
    modifiedOn: dateTimeSchema,
    version: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

export const categoryPageSchema = pageSchema(categorySchema, 'A page of categories, ordered by name.');

export const categoryListQuerySchema = Type.Object(
  {
    accountId: Type.Optional(withOptions(idSchema, { description: 'Required with the admin token; an account token sees its own account.' })),
    ...pageQueryProperties,
  },
  { additionalProperties: false },
);
