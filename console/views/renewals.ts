import type { ConsoleContext } from '../context.ts';
import { field, h, input } from '../dom.ts';
import { runForm } from '../problems.ts';
import { form, valueOf } from './common.ts';

interface CertificateRenewal {
  readonly renewalId: string;
  readonly devicesTold: number;
  readonly withinSeconds: number;
}

/**
 * "Renew now" (POST /certificate-renewals): a form telling one device (`target` { clientId }) or
 * every online device of an account or of one of its categories ({ accountId }, and a category
 * field) to renew its certificate, each at a random moment within the seconds given. Only online
 * devices are told; the answer's devicesTold says how many, shown under the button.
 */
export function renewForm(context: ConsoleContext, target: { clientId: string } | { accountId: string }, label: string): HTMLFormElement {
  const told = h('p', { class: 'renewal-told', 'aria-live': 'polite' });
  return form(
    'inline-form',
    (element) =>
      void runForm(element, async () => {
        told.textContent = '';
        const category = valueOf(element, 'category');
        const within = valueOf(element, 'withinSeconds');
        const answer = await context.api.call<CertificateRenewal>('POST', '/certificate-renewals', {
          ...target,
          ...(category ? { category } : {}),
          ...(within ? { withinSeconds: Number(within) } : {}),
          reason: valueOf(element, 'reason'),
        });
        told.textContent = `${answer.devicesTold} online ${answer.devicesTold === 1 ? 'device was' : 'devices were'} told to renew within ${answer.withinSeconds} s (offline devices renew on their own schedule).`;
      }),
    'accountId' in target ? field('Category (optional)', input('category', { placeholder: 'all of the account' })) : null,
    field('Within (seconds)', input('withinSeconds', { type: 'number', min: 0, max: 86400, value: 'clientId' in target ? 0 : 300 })),
    field('Reason', input('reason', { placeholder: 'keyCompromise, CA rollover…' })),
    h('button', { type: 'submit', class: 'primary' }, label),
    told,
  );
}
