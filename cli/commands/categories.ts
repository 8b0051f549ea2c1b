import type { Schemas } from '../api-client.ts';
import { defineCommand, type CommandGroup } from '../command.ts';
import { UsageError } from '../exit-codes.ts';
import { pageOptions, pageQuery } from '../option-values.ts';
import { joined, printFields, printJson, printPageFooter, printTable, type Column } from '../output.ts';

const categoryColumns: readonly Column<Schemas['Category']>[] = [
  { header: 'ID', value: (category) => category.id },
  { header: 'NAME', value: (category) => category.name },
  { header: 'CONFIGURATION', value: (category) => category.configurationId },
  { header: 'BUNDLES', value: (category) => joined(category.bundleIds) },
  { header: 'DESCRIPTION', value: (category) => category.description },
];

/** `provisio categories ...`: groups of devices of an account sharing a configuration and bundles. */
export const categoriesGroup: CommandGroup = {
  name: 'categories',
  summary: 'Device categories of an account: list and create',
  commands: [
    defineCommand({
      name: 'ls',
      summary: 'List the categories of an account, by name',
      usage: '--account NAME [--limit N] [--offset N]',
      details: 'With the admin token --account is required; an account token sees its own.',
      options: { account: { type: 'string', value: 'NAME', help: 'The account (name or id).' }, ...pageOptions },
      positionals: { min: 0, max: 0 },
      run: async (context, values) => {
        const accountId = await context.accounts.optionalIdOf(values.account);
        const client = context.api();
        const query = { ...(accountId !== undefined ? { accountId } : {}), ...pageQuery(values) };
        const page = await client.call(client.client.GET('/api/v1/categories', { params: { query } }));
        if (context.out.json) return printJson(context.out, page);
        printTable(context.out, page.items, categoryColumns);
        printPageFooter(context.out, page);
      },
    }),
    defineCommand({
      name: 'create',
      summary: 'Create a category',
      usage: 'NAME --account NAME [--description TEXT] [--configuration ID] [--bundle ID]...',
      options: {
        account: { type: 'string', value: 'NAME', help: 'The account (name or id). Required.' },
        description: { type: 'string', value: 'TEXT', help: 'Free text for operators.' },
        configuration: { type: 'string', value: 'ID', help: 'The configuration of its devices whose request names none.' },
        bundle: { type: 'string', multiple: true, value: 'ID', help: 'A bundle of its devices whose request names none.' },
      },
      positionals: { min: 1, max: 1 },
      run: async (context, values, [name]) => {
        if (values.account === undefined) throw new UsageError('--account NAME is required');
        const body: Schemas['NewCategory'] = {
          accountId: await context.accounts.idOf(values.account),
          name: name!,
          ...(values.description !== undefined ? { description: values.description } : {}),
          ...(values.configuration !== undefined ? { configurationId: values.configuration } : {}),
          ...(values.bundle ? { bundleIds: values.bundle } : {}),
        };
        const client = context.api();
        const category = await client.call(client.client.POST('/api/v1/categories', { body }));
        if (context.out.json) return printJson(context.out, category);
        printFields(context.out, [
          ['id', category.id],
          ['name', category.name],
          ['configuration', category.configurationId],
          ['bundles', joined(category.bundleIds)],
        ]);
      },
    }),
  ],
};
