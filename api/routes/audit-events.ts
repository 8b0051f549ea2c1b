import { listScope } from '../access.ts';
import type { RouteDeps } from '../route-deps.ts';
import { apiPrefix, defineRoute, type ApiRoute } from '../route-spec.ts';
import { auditEventView, pageView } from '../views.ts';

export function auditEventRoutes(deps: RouteDeps): ApiRoute[] {
  return [
    defineRoute({
      method: 'get',
      path: `${apiPrefix}/audit-events`,
      operationId: 'listAuditEvents',
      summary: 'List audit events (an account token sees its own account only)',
      tag: 'audit-events',
      auth: 'bearer',
      query: 'AuditEventListQuery',
      responses: { 200: { description: 'A page of audit events.', schema: 'AuditEventPage' } },
      handler: async ({ principal, query: filter }) => {
        const accountId = listScope(principal, filter.accountId);
        const page = await deps.store.listAudit({
          ...(accountId !== undefined ? { accountId } : {}),
          ...(filter.clientId !== undefined ? { clientId: filter.clientId } : {}),
          ...(filter.provisionRequestId !== undefined ? { provisionRequestId: filter.provisionRequestId } : {}),
          ...(filter.type !== undefined ? { type: filter.type } : {}),
          ...(filter.startDate !== undefined ? { startDate: Date.parse(filter.startDate) } : {}),
          ...(filter.endDate !== undefined ? { endDate: Date.parse(filter.endDate) } : {}),
          offset: filter.offset,
          limit: filter.limit,
        });
        return { status: 200, body: pageView(page, auditEventView) };
      },
    }),
  ];
}
