import type { Schemas } from '../api-client.ts';
import { defineCommand, type CommandGroup } from '../command.ts';
import { UsageError } from '../exit-codes.ts';
import { integerOption } from '../option-values.ts';
import { printFields, printJson } from '../output.ts';

/** `provisio renew ...`: tells online devices to renew their certificate now (POST /api/v1/certificate-renewals). */
const renewCommand = defineCommand({
  name: '',
  summary: 'Tell online devices to renew their certificate now: one device, or an account (or one of its categories)',
  usage: '--client-id ID | --account NAME [--category C]  [--within SECONDS] [--reason TEXT]',
  details: 'Devices that are offline are not told; they renew when due. Each told device starts within --within seconds.',
  options: {
    'client-id': { type: 'string', value: 'ID', help: 'One device.' },
    account: { type: 'string', value: 'NAME', help: 'Every online device of the account (name or id).' },
    category: { type: 'string', value: 'C', help: 'With --account: only the devices of this category.' },
    within: { type: 'string', value: 'SECONDS', help: 'Spread the renewals over this many seconds (0-86400, default 300).' },
    reason: { type: 'string', value: 'TEXT', help: 'Why: kept in the audit log and sent to the devices.' },
  },
  positionals: { min: 0, max: 0 },
  run: async (context, values) => {
    if ((values['client-id'] === undefined) === (values.account === undefined)) throw new UsageError('give exactly one of --client-id ID and --account NAME');
    if (values.category !== undefined && values.account === undefined) throw new UsageError('--category needs --account');
    const withinSeconds = integerOption('within', values.within, { min: 0, max: 86_400 });
    const accountId = await context.accounts.optionalIdOf(values.account);
    const body: Schemas['NewCertificateRenewal'] = {
      ...(values['client-id'] !== undefined ? { clientId: values['client-id'] } : {}),
      ...(accountId !== undefined ? { accountId } : {}),
      ...(values.category !== undefined ? { category: values.category } : {}),
      ...(withinSeconds !== undefined ? { withinSeconds } : {}),
      ...(values.reason !== undefined ? { reason: values.reason } : {}),
    };
    const client = context.api();
    const renewal = await client.call(client.client.POST('/api/v1/certificate-renewals', { body }));
    if (context.out.json) return printJson(context.out, renewal);
    printFields(context.out, [
      ['renewalId', renewal.renewalId],
      ['devicesTold', renewal.devicesTold],
      ['withinSeconds', renewal.withinSeconds],
    ]);
  },
});

export const renewGroup: CommandGroup = { name: 'renew', summary: 'Tell online devices to renew their certificate now', commands: [], command: renewCommand };
