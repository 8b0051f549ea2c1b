import type { Schemas } from '../api-client.ts';
import { defineCommand, type CommandGroup } from '../command.ts';
import { UsageError } from '../exit-codes.ts';
import { choiceOption, pageOptions, pageQuery } from '../option-values.ts';
import { printFields, printJson, printPageFooter, printTable, type Column } from '../output.ts';

type Certificate = Schemas['Certificate'];

const certificateStatuses = ['VALID', 'REVOKED'] as const satisfies readonly Certificate['status'][];

const certificateColumns: readonly Column<Certificate>[] = [
  { header: 'SERIAL', value: (certificate) => certificate.serial },
  { header: 'CLIENT ID', value: (certificate) => certificate.clientId },
  { header: 'STATUS', value: (certificate) => certificate.status },
  { header: 'NOT AFTER', value: (certificate) => certificate.notAfter },
  { header: 'REVOKED', value: (certificate) => (certificate.revokedOn === null ? null : `${certificate.revokedOn} (${certificate.revocationReason ?? '?'})`) },
];

/** `provisio certs ...`: the device certificates the platform issued. */
export const certsGroup: CommandGroup = {
  name: 'certs',
  summary: 'Device certificates: list, revoke',
  commands: [
    defineCommand({
      name: 'ls',
      summary: 'List issued certificates',
      usage: '[--account NAME] [--client-id ID] [--status VALID|REVOKED] [--limit N] [--offset N]',
      options: {
        account: { type: 'string', value: 'NAME', help: 'Only this account (name or id).' },
        'client-id': { type: 'string', value: 'ID', help: 'Only this device.' },
        status: { type: 'string', value: 'S', help: `${certificateStatuses.join(' or ')}.` },
        ...pageOptions,
      },
      positionals: { min: 0, max: 0 },
      run: async (context, values) => {
        const status = values.status === undefined ? undefined : choiceOption('status', values.status, certificateStatuses);
        const accountId = await context.accounts.optionalIdOf(values.account);
        const client = context.api();
        const query = {
          ...(accountId !== undefined ? { accountId } : {}),
          ...(values['client-id'] !== undefined ? { clientId: values['client-id'] } : {}),
          ...(status !== undefined ? { status } : {}),
          ...pageQuery(values),
        };
        const page = await client.call(client.client.GET('/api/v1/certificates', { params: { query } }));
        if (context.out.json) return printJson(context.out, page);
        printTable(context.out, page.items, certificateColumns);
        printPageFooter(context.out, page);
      },
    }),
    defineCommand({
      name: 'revoke',
      summary: "Revoke a certificate: it goes on the CRL and the device's live session is ended",
      usage: 'SERIAL --reason TEXT',
      options: { reason: { type: 'string', value: 'TEXT', help: 'Why, e.g. keyCompromise, superseded, cessationOfOperation. Required.' } },
      positionals: { min: 1, max: 1 },
      run: async ({ api, out }, values, [serial]) => {
        if (values.reason === undefined) throw new UsageError('--reason TEXT is required');
        const client = api();
        const certificate = await client.call(
          client.client.POST('/api/v1/certificates/{serial}/revoke', { params: { path: { serial: serial! } }, body: { reason: values.reason } }),
        );
        if (out.json) return printJson(out, certificate);
        printFields(out, [
          ['serial', certificate.serial],
          ['clientId', certificate.clientId],
          ['status', certificate.status],
          ['revokedOn', certificate.revokedOn],
          ['reason', certificate.revocationReason],
        ]);
      },
    }),
  ],
};
