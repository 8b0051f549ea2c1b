import type { Page } from '../api.ts';
import { accountName, type AuditEvent, type ConsoleContext } from '../context.ts';
import { formatTime, h, replaceChildren, row, table } from '../dom.ts';
import { badge, section } from './common.ts';
import type { ProvisionRequest } from './requests.ts';
import type { Device } from './devices.ts';

/** Where one device of a rollout stands: the innovaphone "Pending" → "Registered" as three steps. */
type Stage = 'created' | 'provisioning' | 'provisioned' | 'online' | 'failed' | 'disabled';

function stageOf(request: ProvisionRequest, device: Device | undefined): Stage {
  if (device?.online) return 'online';
  if (device || request.jobStatus === 'COMPLETED') return 'provisioned';
  if (request.jobStatus === 'FAILED' || request.jobStatus === 'ABANDONED') return 'failed';
  if (request.status === 'DISABLED') return 'disabled';
  return request.jobStatus === 'CREATED' ? 'created' : 'provisioning';
}

const shownRequests = 500;

/** How a device came without a request made for it (issue 18): its request's createdBy names the enrollment group or the code. */
function enrolledBy(request: ProvisionRequest): string | null {
  if (request.createdBy.startsWith('enrollment-group:')) return 'factory certificate';
  if (request.createdBy.startsWith('provisioning-code:')) return 'provisioning code';
  return null;
}

/**
 * The live rollout: the newest provision requests of the account with the stage each device has
 * reached, counted at the top, redrawn whenever the audit stream (GET /api/v1/events) reports
 * something: no reload, no polling by the page.
 */
export async function rolloutView(context: ConsoleContext): Promise<HTMLElement> {
  const counts = h('div', { class: 'counts', 'aria-live': 'polite' });
  const body = h('div', {});
  const feed = h('ol', { class: 'feed', 'aria-label': 'Latest events' });

  const draw = async () => {
    const probe = await context.api.get<Page<ProvisionRequest>>('/provision-requests', { accountId: context.accountId, limit: 1 });
    const requests = await context.api.get<Page<ProvisionRequest>>('/provision-requests', {
      accountId: context.accountId,
      offset: Math.max(0, probe.total - shownRequests),
      limit: shownRequests,
    });
    // The registry is listed per account (the admin names one): every account's when none is chosen.
    const accountIds = context.accountId !== null ? [context.accountId] : context.isAdmin ? context.accounts.map((account) => account.id) : [undefined];
    const pages = await Promise.all(accountIds.map((accountId) => context.api.get<Page<Device>>('/devices', { accountId, limit: 1000 })));
    const byClient = new Map(pages.flatMap((page) => page.items).map((device) => [`${device.accountId}/${device.clientId}`, device]));
    const staged = requests.items.map((request) => ({ request, stage: stageOf(request, byClient.get(`${request.accountId}/${request.clientId}`)) })).reverse();
    const tally = new Map<Stage, number>();
    for (const { stage } of staged) tally.set(stage, (tally.get(stage) ?? 0) + 1);
    replaceChildren(
      counts,
      ...(['created', 'provisioning', 'provisioned', 'online', 'failed', 'disabled'] as const).map((stage) =>
        h('div', { class: `count count-${stage}`, 'data-stage': stage }, h('span', { class: 'number' }, String(tally.get(stage) ?? 0)), h('span', {}, stage)),
      ),
    );
    replaceChildren(
      body,
      table(
        ['Client id', 'Account', 'Stage', 'Request', 'Changed'],
        staged.map(({ request, stage }) => {
          const origin = enrolledBy(request);
          const line = row(
            h('span', {}, h('strong', {}, request.clientId), origin ? ' ' : null, origin ? badge(origin, 'enrolled') : null),
            accountName(context, request.accountId),
            badge(stage),
            badge(request.jobStatus),
            formatTime(request.modifiedOn),
          );
          line.dataset.clientId = request.clientId;
          line.dataset.stage = stage;
          if (origin) line.dataset.origin = origin;
          return line;
        }),
        'No provision request yet: create some under Requests or Import.',
      ),
    );
  };

  let pending: ReturnType<typeof setTimeout> | undefined;
  let drawing = Promise.resolve();
  context.onAuditEvent((event: AuditEvent) => {
    if (context.accountId !== null && event.accountId !== context.accountId) return;
    feed.prepend(h('li', {}, h('time', {}, formatTime(event.time)), ' ', badge(event.type, event.outcome), ' ', event.clientId ?? ''));
    while (feed.children.length > 20) feed.lastElementChild?.remove();
    clearTimeout(pending);
    pending = setTimeout(() => {
      drawing = drawing.then(draw).catch(() => undefined);
    }, 300);
  });
  await draw();
  return h(
    'div',
    {},
    h('h1', {}, 'Live rollout'),
    h('p', { class: 'hint' }, 'Each device goes from created to provisioned to online; this view follows the platform’s events as they happen.'),
    counts,
    h('div', { class: 'split' }, section('Devices', body), section('Events', feed)),
  );
}
