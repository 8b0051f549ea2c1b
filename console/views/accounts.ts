import type { Account, ConsoleContext } from '../context.ts';
import { field, formatTime, h, input, row, table } from '../dom.ts';
import { runForm } from '../problems.ts';
import { form, section, valueOf } from './common.ts';

/** Accounts: the list, and (a global token of scope admin only) a new account. */
export async function accountsView(context: ConsoleContext): Promise<HTMLElement> {
  const create = context.canAdminister
    ? form(
        'inline-form',
        (element) =>
          void runForm(element, async () => {
            const brokerUrl = valueOf(element, 'brokerUrl');
            await context.api.call<Account>('POST', '/accounts', { name: valueOf(element, 'name'), ...(brokerUrl ? { brokerUrl } : {}) });
            await context.refreshAccounts();
          }),
        field('Name', input('name', { required: true, placeholder: 'acme' }), 'Letters, digits, - and _; used in topics.'),
        field('Account broker URL (optional)', input('brokerUrl', { placeholder: 'mqtts://broker.example:8883' }), 'Empty: the platform’s own account broker.'),
        h('button', { type: 'submit', class: 'primary' }, 'Create account'),
      )
    : null;
  const rows = context.accounts.map((account) =>
    row(h('strong', {}, account.name), h('code', {}, account.id), account.brokerUrl ?? 'platform broker', formatTime(account.createdOn)),
  );
  return h(
    'div',
    {},
    h('h1', {}, 'Accounts'),
    create ? section('New account', create) : null,
    section(`Accounts (${context.accounts.length})`, table(['Name', 'Id', 'Broker', 'Created'], rows, 'No account yet: create one above.')),
  );
}
