import { PlatformError } from '../../errors/platform-error.ts';
import { generateSecret } from '../../crypto/secret-hash.ts';
import type { Webhook } from '../../store/types.ts';
import type { Principal } from '../auth.ts';
import { invalid } from '../problem.ts';
import type { RouteDeps } from '../route-deps.ts';
import { apiPrefix, defineRoute, type ApiRoute } from '../route-spec.ts';
import { idSchema } from '../schemas/common.ts';
import { iso } from '../views.ts';
import type { WebhookSecretBox } from '../webhooks/webhook-secret-box.ts';

const tag = 'webhooks';
const idParam = { id: idSchema };

/** What the API shows of a webhook: never its sealed secret; the secret itself only where it is made. */
function webhookView(webhook: Webhook, secret?: string) {
  return {
    id: webhook.id,
    accountId: webhook.accountId,
    url: webhook.url,
    eventTypes: [...webhook.eventTypes],
    enabled: webhook.enabled,
    cursor: webhook.cursor,
    createdOn: iso(webhook.createdOn),
    modifiedOn: iso(webhook.modifiedOn),
    ...(secret === undefined ? {} : { secret }),
  };
}

/** An http(s) URL with no credentials in it (they would be kept and logged as part of the URL). */
function checkedUrl(field: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(field, 'must be an absolute http or https URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(field, 'must be an http or https URL');
  if (url.username !== '' || url.password !== '') throw invalid(field, 'must not hold credentials (user:password@); deliveries are signed instead');
  if (url.hash !== '') throw invalid(field, 'must not have a fragment (#…)');
  return url.href;
}

/** A global token manages every webhook; one bound to an account only its account's. */
function mayManage(principal: Principal, webhook: Webhook): boolean {
  return principal.kind === 'admin' || (webhook.accountId !== null && webhook.accountId === principal.accountId);
}

/**
 * Webhooks (issue 17 §2; docs/OPERATIONS.md "Webhooks and event stream"): registered, listed,
 * changed (enabled, URL, event types, a new secret), deleted; their recent delivery attempts; a
 * redelivery from an event on. Admin scope, as for accounts and tokens: a webhook sends the
 * account's events out of the platform.
 */
export function webhookRoutes(deps: RouteDeps): ApiRoute[] {
  const { store } = deps;
  function box(): WebhookSecretBox {
    if (!deps.webhookSecrets) throw new PlatformError('INTERNAL', { detail: 'this API was started without the platform secrets that seal webhook secrets' });
    return deps.webhookSecrets;
  }
  async function visibleWebhook(principal: Principal, id: string): Promise<Webhook> {
    const webhook = await store.getWebhook(id);
    if (!webhook || !mayManage(principal, webhook)) throw new PlatformError('NOT_FOUND', { detail: 'no such webhook' });
    return webhook;
  }
  const audit = (type: string, principal: Principal, webhook: Webhook, detail: Record<string, unknown>) =>
    deps.audit({
      type,
      actor: principal.actor,
      accountId: webhook.accountId,
      clientId: null,
      provisionRequestId: null,
      detail: { webhookId: webhook.id, ...detail },
    });

  return [
    defineRoute({
      method: 'post',
      path: `${apiPrefix}/webhooks`,
      operationId: 'createWebhook',
      summary: 'Register a webhook (for one account, or global) for public event types; its signing secret is shown once',
      description:
        'Events that happen from now on are delivered, signed (X-Provisio-Signature), in event order, at least once, retried with backoff while the receiver fails.',
      tag,
      auth: 'bearer',
      scope: 'admin',
      body: { kind: 'json', schema: 'NewWebhook' },
      responses: { 201: { description: 'Registered; keep the secret, it is not shown again.', schema: 'Webhook' } },
      handler: async ({ principal, body }) => {
        const accountId = body.accountId ?? null;
        if (principal.kind === 'account' && accountId !== principal.accountId) {
          throw new PlatformError('FORBIDDEN', { detail: 'this token may only register webhooks of its own account' });
        }
        if (accountId !== null && !(await store.getAccount(accountId))) throw invalid('body/accountId', 'names no existing account');
        const url = checkedUrl('body/url', body.url);
        const secret = generateSecret(32);
        const webhook = await store.createWebhook({ accountId, url, eventTypes: body.eventTypes, sealedSecret: box().seal(secret), enabled: body.enabled });
        await audit('webhook.created', principal, webhook, { url, eventTypes: webhook.eventTypes, enabled: webhook.enabled });
        return { status: 201, body: webhookView(webhook, secret) };
      },
    }),
    defineRoute({
      method: 'get',
      path: `${apiPrefix}/webhooks`,
      operationId: 'listWebhooks',
      summary: 'List webhooks (of the caller’s account, or all for a global token); never a secret',
      tag,
      auth: 'bearer',
      scope: 'admin',
      responses: { 200: { description: 'The webhooks, oldest first.', schema: 'WebhookList' } },
      handler: async ({ principal }) => ({
        status: 200,
        body: { items: (await store.listWebhooks()).filter((webhook) => mayManage(principal, webhook)).map((webhook) => webhookView(webhook)) },
      }),
    }),
    defineRoute({
      method: 'get',
      path: `${apiPrefix}/webhooks/{id}`,
      operationId: 'getWebhook',
      summary: 'One webhook, with its cursor (the last event delivered or passed over)',
      tag,
      auth: 'bearer',
      scope: 'admin',
      params: idParam,
      responses: { 200: { description: 'The webhook.', schema: 'Webhook' } },
      handler: async ({ principal, params }) => ({ status: 200, body: webhookView(await visibleWebhook(principal, params['id']!)) }),
    }),
    defineRoute({
      method: 'patch',
      path: `${apiPrefix}/webhooks/{id}`,
      operationId: 'updateWebhook',
      summary: 'Enable or disable a webhook, change its URL or event types, or give it a new secret (shown once)',
      tag,
      auth: 'bearer',
      scope: 'admin',
      params: idParam,
      body: { kind: 'json', schema: 'WebhookPatch' },
      responses: { 200: { description: 'The changed webhook (with its new secret when rotateSecret was true).', schema: 'Webhook' } },
      handler: async ({ principal, params, body }) => {
        const current = await visibleWebhook(principal, params['id']!);
        const secret = body.rotateSecret === true ? generateSecret(32) : undefined;
        const webhook = await store.updateWebhook(current.id, {
          ...(body.url !== undefined ? { url: checkedUrl('body/url', body.url) } : {}),
          ...(body.eventTypes !== undefined ? { eventTypes: body.eventTypes } : {}),
          ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
          ...(secret !== undefined ? { sealedSecret: box().seal(secret) } : {}),
        });
        await audit('webhook.changed', principal, webhook, {
          url: webhook.url,
          eventTypes: webhook.eventTypes,
          enabled: webhook.enabled,
          secretRotated: secret !== undefined,
        });
        return { status: 200, body: webhookView(webhook, secret) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: `${apiPrefix}/webhooks/{id}`,
      operationId: 'deleteWebhook',
      summary: 'Delete a webhook and its delivery attempts; nothing more is delivered to it',
      tag,
      auth: 'bearer',
      scope: 'admin',
      params: idParam,
      responses: { 204: { description: 'Deleted.' } },
      handler: async ({ principal, params }) => {
        const webhook = await visibleWebhook(principal, params['id']!);
        await store.deleteWebhook(webhook.id);
        await audit('webhook.deleted', principal, webhook, { url: webhook.url });
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: `${apiPrefix}/webhooks/{id}/deliveries`,
      operationId: 'listWebhookDeliveries',
      summary: 'The recent delivery attempts of a webhook, newest first: delivered ones and failures (HTTP status or error)',
      tag,
      auth: 'bearer',
      scope: 'admin',
      params: idParam,
      query: 'WebhookAttemptListQuery',
      responses: { 200: { description: 'The attempts.', schema: 'WebhookAttemptList' } },
      handler: async ({ principal, params, query }) => {
        const webhook = await visibleWebhook(principal, params['id']!);
        const attempts = await store.listWebhookAttempts(webhook.id, query.limit);
        return {
          status: 200,
          body: {
            items: attempts.map((attempt) => ({
              eventId: attempt.eventId,
              eventType: attempt.eventType,
              attempt: attempt.attempt,
              attemptedOn: iso(attempt.attemptedOn),
              status: attempt.status,
              delivered: attempt.delivered,
              error: attempt.error,
            })),
          },
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: `${apiPrefix}/webhooks/{id}/redeliver`,
      operationId: 'redeliverWebhook',
      summary: 'Deliver again, in order, every wanted event from an audit event id on (as far as the audit log still keeps them)',
      tag,
      auth: 'bearer',
      scope: 'admin',
      params: idParam,
      body: { kind: 'json', schema: 'WebhookRedelivery' },
      responses: { 202: { description: 'The webhook, its cursor set just before fromEventId; delivery follows in the background.', schema: 'Webhook' } },
      handler: async ({ principal, params, body }) => {
        const current = await visibleWebhook(principal, params['id']!);
        const cursor = String(Math.max(Number(body.fromEventId) - 1, 0));
        const webhook = await store.updateWebhook(current.id, { cursor });
        await audit('webhook.redelivery', principal, webhook, { fromEventId: body.fromEventId, previousCursor: current.cursor });
        return { status: 202, body: webhookView(webhook) };
      },
    }),
  ];
}
