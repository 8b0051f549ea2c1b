import { listScope } from '../access.ts';
import { viewCsvLayout } from '../csv-cells.ts';
import type { RouteDeps } from '../route-deps.ts';
import { apiPrefix, defineRoute, type ApiRoute } from '../route-spec.ts';
import { auditEventView, pageView } from '../views.ts';
import { sendCsv, wantsCsv, withCsvAnswer } from './csv-export.ts';

/** audit-events.csv: every field of the JSON view, the detail as its JSON text. */
const auditCsv = viewCsvLayout('AuditEvent', auditEventView);

export function auditEventRoutes(deps: RouteDeps): ApiRoute[] {
  return [
    defineRoute({
      method: 'get',
      path: `${apiPrefix}/audit-events`,
      operationId: 'listAuditEvents',
      summary: 'List audit events (an account token sees its own account only); a page as JSON, or every match as CSV',
      tag: 'audit-events',
      auth: 'bearer',
      query: 'AuditEventListQuery',
      responses: { 200: withCsvAnswer({ description: 'A page of audit events.', schema: 'AuditEventPage' }, 'audit-events.csv', auditCsv.columns) },
      handler: async ({ principal, query: filter, req, res }) => {
        const accountId = listScope(principal, filter.accountId);
        const selection = {
          ...(accountId !== undefined ? { accountId } : {}),
          ...(filter.clientId !== undefined ? { clientId: filter.clientId } : {}),
          ...(filter.provisionRequestId !== undefined ? { provisionRequestId: filter.provisionRequestId } : {}),
          ...(filter.type !== undefined ? { type: filter.type } : {}),
          ...(filter.startDate !== undefined ? { startDate: Date.parse(filter.startDate) } : {}),
          ...(filter.endDate !== undefined ? { endDate: Date.parse(filter.endDate) } : {}),
        };
        const page = (offset: number, limit: number) => deps.store.listAudit({ ...selection, offset, limit });
        if (wantsCsv(req)) return sendCsv({ filename: 'audit-events.csv', noun: 'audit events', ...auditCsv, page }, res);
        return { status: 200, body: pageView(await page(filter.offset, filter.limit), auditEventView) };
      },
    }),
  ];
}
