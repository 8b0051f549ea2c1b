import type { Schemas } from '../api-client.ts';
import { defineCommand, type CommandGroup } from '../command.ts';
import { pageOptions, pageQuery } from '../option-values.ts';
import { printFields, printJson, printPageFooter, printTable, type Column } from '../output.ts';

const accountColumns: readonly Column<Schemas['Account']>[] = [
  { header: 'ID', value: (account) => account.id },
  { header: 'NAME', value: (account) => account.name },
  { header: 'BROKER', value: (account) => account.brokerUrl ?? '(platform)' },
  { header: 'CREATED', value: (account) => account.createdOn },
];

/** `provisio accounts ...`: the tenants devices are provisioned into. */
export const accountsGroup: CommandGroup = {
  name: 'accounts',
  summary: 'Accounts (tenants): list and create',
  commands: [
    defineCommand({
      name: 'ls',
      summary: 'List the accounts',
      usage: '[--limit N] [--offset N]',
      options: pageOptions,
      positionals: { min: 0, max: 0 },
      run: async ({ api, out }, values) => {
        const client = api();
        const page = await client.call(client.client.GET('/api/v1/accounts', { params: { query: pageQuery(values) } }));
        if (out.json) return printJson(out, page);
        printTable(out, page.items, accountColumns);
        printPageFooter(out, page);
      },
    }),
    defineCommand({
      name: 'create',
      summary: 'Create an account',
      usage: 'NAME [--broker-url URL]',
      details: 'NAME becomes a topic level ($EDC/NAME/...): letters, digits, . _ - as the API allows.',
      options: {
        'broker-url': { type: 'string', value: 'URL', help: "mqtt:// or mqtts:// URL of the account's own broker (default: the platform's account broker)." },
      },
      positionals: { min: 1, max: 1 },
      run: async ({ api, out }, values, [name]) => {
        const client = api();
        const account = await client.call(
          client.client.POST('/api/v1/accounts', { body: { name: name!, ...(values['broker-url'] !== undefined ? { brokerUrl: values['broker-url'] } : {}) } }),
        );
        if (out.json) return printJson(out, account);
        printFields(out, [
          ['id', account.id],
          ['name', account.name],
          ['broker', account.brokerUrl ?? '(platform)'],
        ]);
      },
    }),
  ],
};
