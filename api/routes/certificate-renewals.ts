import { randomUUID } from 'node:crypto';
import { renewNoticeMaxClientIds } from '../../cluster/renew-now-notice.ts';
import { PlatformError } from '../../errors/platform-error.ts';
import type { Account } from '../../store/types.ts';
import { requireWriteAccess } from '../access.ts';
import type { Principal } from '../auth.ts';
import { onlineClientIds } from '../online-device-notices.ts';
import { invalid } from '../problem.ts';
import type { RouteDeps } from '../route-deps.ts';
import { apiPrefix, defineRoute, type ApiRoute } from '../route-spec.ts';

const tag = 'certificates';
/** The devices a renewal names, per account; `online` are the ones to tell. */
interface AccountTarget {
  readonly account: Account;
  readonly online: string[];
}

/**
 * The accounts that may have a device record for the clientId: an account token's own; for the
 * admin, the accounts holding it (a request or a valid certificate for it), looked up by index
 * rather than by scanning every device of the platform.
 */
async function candidateAccounts(deps: RouteDeps, principal: Principal, clientId: string): Promise<readonly string[]> {
  if (principal.kind === 'account') return [principal.accountId];
  const holders = (await deps.store.findClientIdHolders([clientId])).get(clientId);
  return [...new Set([...(holders?.validCertificateAccountIds ?? []), ...(holders?.requestAccountIds ?? [])])];
}

/** One device: its record in each account the token may see (normally one); none is 404, as for any record it may not see. */
async function deviceTargets(deps: RouteDeps, principal: Principal, clientId: string): Promise<AccountTarget[]> {
  const targets: AccountTarget[] = [];
  for (const accountId of await candidateAccounts(deps, principal, clientId)) {
    const device = await deps.store.getDevice(accountId, clientId);
    const account = device ? await deps.store.getAccount(accountId) : null;
    if (device && account) targets.push({ account, online: device.online ? [clientId] : [] });
  }
  if (targets.length === 0) throw new PlatformError('NOT_FOUND', { detail: 'no such device' });
  return targets;
}

/**
 * Every online device of one account, or of one category of it: another account's is 403 for an
 * account token, as creating there is; a category the account lacks is 400 naming the field.
 */
async function accountTarget(deps: RouteDeps, principal: Principal, accountId: string, category: string | undefined): Promise<AccountTarget> {
  requireWriteAccess(principal, accountId);
  const account = await deps.store.getAccount(accountId);
  if (!account) throw new PlatformError('NOT_FOUND', { detail: 'no such account' });
  if (category !== undefined && !(await deps.store.getCategoryByName(accountId, category))) throw invalid('body/category', 'names no category of this account');
  return { account, online: await onlineClientIds(deps.store, accountId, category !== undefined ? { category } : {}) };
}

/**
 * POST /api/v1/certificate-renewals: "renew now" (docs/PROTOCOL.md, CERT-V1). The online devices
 * of the target are told, each by the broker process holding its connection, with a signed
 * command on $EDC/{account}/{clientId}/CERT-V1/PUT/renew; each then renews on its own within
 * `withinSeconds`. Answered once the commands went out (one process) or the notices are on the
 * renew-now channel (cluster).
 */
export function certificateRenewalRoutes(deps: RouteDeps): ApiRoute[] {
  return [
    defineRoute({
      method: 'post',
      path: `${apiPrefix}/certificate-renewals`,
      operationId: 'requestCertificateRenewal',
      summary: 'Tell one device, or every online device of an account or of one of its categories, to renew its certificate now',
      description:
        'Sends the CERT-V1 renew-now command (docs/PROTOCOL.md) to the online devices of the target. A device that is offline is not told; ' +
        'it renews on its own schedule. An account token may name only its own devices and account.',
      tag,
      auth: 'bearer',
      body: { kind: 'json', schema: 'NewCertificateRenewal' },
      responses: { 202: { description: 'The command went out to the online devices of the target.', schema: 'CertificateRenewal' } },
      handler: async ({ principal, body }) => {
        const { clientId, accountId, category, withinSeconds, reason } = body;
        if ((clientId === undefined) === (accountId === undefined)) throw invalid('body', 'send exactly one of clientId and accountId');
        if (category !== undefined && accountId === undefined) throw invalid('body/category', 'a category is named together with its accountId');
        const targets = clientId !== undefined ? await deviceTargets(deps, principal, clientId) : [await accountTarget(deps, principal, accountId!, category)];
        const renewalId = randomUUID();
        let devicesTold = 0;
        for (const { account, online } of targets) {
          for (let start = 0; start < online.length; start += renewNoticeMaxClientIds) {
            const clientIds = online.slice(start, start + renewNoticeMaxClientIds);
            await deps.renewals.tellToRenew({ renewalId, accountId: account.id, accountName: account.name, clientIds, withinSeconds, reason });
            devicesTold += clientIds.length;
          }
          await deps.audit({
            type: 'certificate.renewal-requested',
            actor: principal.actor,
            accountId: account.id,
            clientId: clientId ?? null,
            provisionRequestId: null,
            detail: {
              renewalId,
              target: clientId !== undefined ? 'device' : category !== undefined ? 'category' : 'account',
              ...(category !== undefined ? { category } : {}),
              devicesTold: online.length,
              withinSeconds,
              reason,
            },
          });
        }
        return { status: 202, body: { renewalId, devicesTold, withinSeconds } };
      },
    }),
  ];
}
