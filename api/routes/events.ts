import { AuditFollower } from '../audit-follower.ts';
import type { RouteDeps } from '../route-deps.ts';
import { apiPrefix, defineRoute, type ApiRoute } from '../route-spec.ts';
import { auditEventView } from '../views.ts';
import { publicEventOf, publicTypeOf } from '../webhooks/public-events.ts';

/** How often an open stream looks at the audit log, and how often it says it is alive when nothing happens. */
const pollIntervalMs = 500;
const keepAliveMs = 15_000;

/**
 * The live audit stream the web console's rollout view follows: server-sent events, one `audit`
 * event per audit event of the token's scope, as GET /api/v1/audit-events shows them. It takes
 * the Authorization header like every route (the console reads it with fetch, as EventSource
 * cannot send one), so no cookie and no token in a URL are needed.
 */
export function eventStreamRoutes(deps: RouteDeps): ApiRoute[] {
  return [
    defineRoute({
      method: 'get',
      path: `${apiPrefix}/events`,
      operationId: 'streamEvents',
      summary: 'Follow the audit log live as server-sent events (an account token follows its own account)',
      description:
        'With format=audit (the default) each event is `event: audit`, `id: <audit event id>` and `data: <an AuditEvent as JSON>`. ' +
        'With format=public only the events webhooks deliver are streamed: `event: <public type>` (e.g. provisioning.completed), the same id, ' +
        'and as data the JSON body a webhook receives (docs/OPERATIONS.md, "Webhooks and event stream"). Comments keep the connection alive. ' +
        'The stream starts after the newest event, or after Last-Event-ID when given.',
      tag: 'audit-events',
      auth: 'bearer',
      query: 'EventStreamQuery',
      headers: { 'Last-Event-ID': { description: 'Resume after this audit event id.', schema: { type: 'string', pattern: '^[0-9]{1,20}$' } } },
      responses: { 200: { description: 'A text/event-stream that stays open.', content: { 'text/event-stream': { type: 'string' } } } },
      handler: async ({ principal, query, req, res }) => {
        const follower = new AuditFollower(deps.store, principal.kind === 'admin' ? undefined : principal.accountId);
        await follower.start(req.get('last-event-id'));
        res.status(200).set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
        res.flushHeaders();
        res.write('retry: 2000\n\n');
        let closed = false;
        let pollTimer: NodeJS.Timeout | undefined;
        const keepAlive = setInterval(() => res.write(': alive\n\n'), keepAliveMs);
        const poll = async (): Promise<void> => {
          try {
            for (const event of await follower.next()) {
              if (closed) return;
              if (query.format === 'audit') {
                res.write(`id: ${event.id}\nevent: audit\ndata: ${JSON.stringify(auditEventView(event))}\n\n`);
                continue;
              }
              const type = publicTypeOf(event);
              if (type) res.write(`id: ${event.id}\nevent: ${type}\ndata: ${JSON.stringify(publicEventOf(event, type))}\n\n`);
            }
          } catch (error) {
            deps.log.warn({ err: error }, 'event stream: the audit log could not be read; trying again');
          }
          if (!closed) pollTimer = setTimeout(() => void poll(), pollIntervalMs);
        };
        res.on('close', () => {
          closed = true;
          clearTimeout(pollTimer);
          clearInterval(keepAlive);
        });
        pollTimer = setTimeout(() => void poll(), pollIntervalMs);
      },
    }),
  ];
}
