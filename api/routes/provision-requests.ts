import type { Request, Response } from 'express';
import { PlatformError } from '../../errors/platform-error.ts';
import type { ProvisionRequest, RequestStatus } from '../../store/types.ts';
import { listScope, requireWriteAccess, visibleOrNotFound } from '../access.ts';
import type { Principal } from '../auth.ts';
import { viewCsvLayout } from '../csv-cells.ts';
import { ApiValidationError, invalid, problemBody } from '../problem.ts';
import { csvBatchForm } from '../provision-request-csv.ts';
import type { BatchItemResult, CreatedProvisionRequest, ProvisionRequestInput } from '../provision-request-types.ts';
import type { RouteDeps } from '../route-deps.ts';
import { apiPrefix, defineRoute, type ApiRoute, type RouteResult } from '../route-spec.ts';
import { idSchema } from '../schemas/common.ts';
import type { NewProvisionRequestBody } from '../schemas/provision-requests.ts';
import { pageView, provisionRequestView } from '../views.ts';
import { credentialsCsv } from './credentials-csv.ts';
import { sendCsv, wantsCsv, withCsvAnswer } from './csv-export.ts';

const tag = 'provision-requests';
const base = `${apiPrefix}/provision-requests`;
const idParam = { id: idSchema };
/** Who may claim a clientId (docs/SECURITY.md, "Who owns a clientId"), as the OpenAPI document says it. */
const createDescription =
  'A clientId belongs to the account that holds it: the accounts with a VALID certificate for it, or else those with a ' +
  'provision request for it (any status). A token of an account may create a request only for a clientId no other ' +
  'account holds. For one held elsewhere it gets exactly what it gets for a clientId its own account already has: ' +
  '409 DUPLICATE "the clientId is already in use", whatever holds it, so nothing tells it which account or how. ' +
  'Moving a device to another account takes the admin token and `overwriteIfDuplicate: true` (without it the admin ' +
  'gets 409 naming the holder); an account releases a clientId by deleting its requests and revoking its certificates.';

/** Batches run at once; more are answered 429 so one client cannot monopolise scrypt. */
export const maxConcurrentBatches = 2;

/** provision-requests.csv: every field of the JSON view; the device facts as device.model, device.serial, device.firmware. */
const requestsCsv = viewCsvLayout('ProvisionRequest', provisionRequestView);

const batchDescription =
  'Each item of a JSON batch succeeds or fails on its own: 201 when all were created, 200 when some failed (listed in `failed`). ' +
  'A CSV batch (Content-Type: text/csv, the format in the request body) is all or nothing: every row is converted to the JSON ' +
  'item and checked (schema, the records it names, its clientId) before anything is created; a bad row is 400 VALIDATION_FAILED ' +
  'with `errors` at body/rows/{row}/{column}, row 1 being the first record under the header row, and nothing is created ' +
  '(a row that a concurrent change makes fail at creation is still answered in `failed`). More than 1,000 rows is 400. ' +
  'With `Accept: text/csv` the answer is `clientId,username,password,activationKey` rows of the created requests ' +
  'and the header X-Failed-Count. A clientId named twice makes the whole batch invalid. Each item follows the rules ' +
  'of a single creation, who may claim a clientId included: a refused item is in `failed` with the same problem.';

function epochMs(isoDateTime: string | undefined): number | undefined {
  return isoDateTime === undefined ? undefined : Date.parse(isoDateTime);
}

function toInput(body: NewProvisionRequestBody): ProvisionRequestInput {
  return { ...body, activatesOn: epochMs(body.activatesOn), expiresOn: epochMs(body.expiresOn) };
}

function createdView({ request, credentials }: CreatedProvisionRequest) {
  return { ...provisionRequestView(request), credentials };
}

function batchAnswer(req: Request, res: Response, results: readonly BatchItemResult[]): RouteResult | undefined {
  const created = results.flatMap((result) => (result.ok ? [result.created] : []));
  const failed = results.flatMap((result) => (result.ok ? [] : [{ index: result.index, clientId: result.clientId, problem: problemBody(result.error) }]));
  const status = failed.length === 0 ? 201 : 200;
  if (req.accepts(['application/json', 'text/csv']) === 'text/csv') {
    res.status(status).setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Failed-Count', String(failed.length));
    res.type('text/csv').send(credentialsCsv(created));
    return undefined;
  }
  return { status, body: { created: created.map(createdView), failed } };
}

export function provisionRequestRoutes(deps: RouteDeps): ApiRoute[] {
  const { store, requests } = deps;
  let batchesRunning = 0;

  async function visibleRequest(principal: Principal, id: string): Promise<ProvisionRequest> {
    return visibleOrNotFound(principal, await store.getProvisionRequest(id), 'provision request');
  }

  function statusRoute(action: 'enable' | 'disable', status: RequestStatus): ApiRoute {
    return defineRoute({
      method: 'post',
      path: `${base}/{id}/${action}`,
      operationId: `${action}ProvisionRequest`,
      summary: `${action === 'enable' ? 'Enable' : 'Disable'} a provision request`,
      tag,
      auth: 'bearer',
      params: idParam,
      responses: { 200: { description: 'The request now.', schema: 'ProvisionRequest' } },
      problems: [409],
      handler: async ({ principal, params }) => {
        await visibleRequest(principal, params['id']!);
        const changed = await requests.setStatus(params['id']!, status, principal.actor);
        return { status: 200, body: provisionRequestView(changed) };
      },
    });
  }

  return [
    defineRoute({
      method: 'post',
      path: base,
      operationId: 'createProvisionRequest',
      summary: 'Create a provision request; the credentials are in this response only',
      description: createDescription,
      tag,
      auth: 'bearer',
      body: { kind: 'json', schema: 'NewProvisionRequest' },
      responses: { 201: { description: 'Created, with the device credentials (shown once).', schema: 'CreatedProvisionRequest' } },
      problems: [409],
      handler: async ({ principal, body }) => {
        requireWriteAccess(principal, body.accountId);
        const created = await requests.create(toInput(body), { actor: principal.actor, mayOverwriteOtherAccounts: principal.kind === 'admin' });
        return { status: 201, body: createdView(created) };
      },
    }),
    defineRoute({
      method: 'post',
      path: `${base}/batch`,
      operationId: 'createProvisionRequestBatch',
      summary: 'Create up to 1,000 provision requests from JSON or a CSV file; answered as JSON, or the fleet credential file as CSV',
      description: batchDescription,
      tag,
      auth: 'bearer',
      query: 'ProvisionRequestBatchQuery',
      body: { kind: 'json', schema: 'ProvisionRequestBatch', text: csvBatchForm },
      responses: {
        200: {
          description: 'Some items failed.',
          schema: 'ProvisionRequestBatchResult',
          content: { 'text/csv': { type: 'string' } },
          headers: { 'X-Failed-Count': { description: 'Items not created (CSV answers).', schema: { type: 'integer' } } },
        },
        201: {
          description: 'All items were created.',
          schema: 'ProvisionRequestBatchResult',
          content: { 'text/csv': { type: 'string' } },
        },
      },
      problems: [429],
      handler: async ({ principal, query, body, bodyMediaType, req, res }) => {
        const fromCsv = bodyMediaType === csvBatchForm.contentType;
        if (!fromCsv && query.accountId !== undefined) throw invalid('query/accountId', 'applies to a CSV body only');
        if (!fromCsv && query.delimiter !== undefined) throw invalid('query/delimiter', 'applies to a CSV body only');
        const { requests: items } = body;
        for (const accountId of new Set(items.map((item) => item.accountId))) requireWriteAccess(principal, accountId);
        if (batchesRunning >= maxConcurrentBatches) {
          throw new PlatformError('OVERLOADED', { detail: 'other batches are running', retryAfterSeconds: 1 });
        }
        batchesRunning += 1;
        try {
          const options = { actor: principal.actor, mayOverwriteOtherAccounts: principal.kind === 'admin' };
          const results = fromCsv
            ? await requests.createAllOrNothing(items.map(toInput), options).catch((error: unknown) => {
                throw error instanceof ApiValidationError ? csvBatchForm.locate(error) : error;
              })
            : await requests.createMany(items.map(toInput), options);
          return batchAnswer(req, res, results);
        } finally {
          batchesRunning -= 1;
        }
      },
    }),
    defineRoute({
      method: 'get',
      path: base,
      operationId: 'listProvisionRequests',
      summary: 'List provision requests; a page as JSON, or every match as CSV',
      tag,
      auth: 'bearer',
      query: 'ProvisionRequestListQuery',
      responses: {
        200: withCsvAnswer({ description: 'A page of provision requests.', schema: 'ProvisionRequestPage' }, 'provision-requests.csv', requestsCsv.columns),
      },
      handler: async ({ principal, query: filter, req, res }) => {
        const accountId = listScope(principal, filter.accountId);
        const selection = {
          ...(accountId !== undefined ? { accountId } : {}),
          ...(filter.clientId ? { clientIds: filter.clientId } : {}),
          ...(filter.category !== undefined ? { category: filter.category } : {}),
          ...(filter.status ? { statuses: filter.status } : {}),
          ...(filter.jobStatus ? { jobStatuses: filter.jobStatus } : {}),
          ...(filter.startDate ? { startDate: Date.parse(filter.startDate) } : {}),
          ...(filter.endDate ? { endDate: Date.parse(filter.endDate) } : {}),
        };
        const page = (offset: number, limit: number) => store.listProvisionRequests({ ...selection, offset, limit });
        if (wantsCsv(req)) return sendCsv({ filename: 'provision-requests.csv', noun: 'provision requests', ...requestsCsv, page }, res);
        return { status: 200, body: pageView(await page(filter.offset, filter.limit), provisionRequestView) };
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/{id}`,
      operationId: 'getProvisionRequest',
      summary: 'Get a provision request',
      tag,
      auth: 'bearer',
      params: idParam,
      responses: { 200: { description: 'The request.', schema: 'ProvisionRequest' } },
      handler: async ({ principal, params }) => ({ status: 200, body: provisionRequestView(await visibleRequest(principal, params['id']!)) }),
    }),
    defineRoute({
      method: 'patch',
      path: `${base}/{id}`,
      operationId: 'updateProvisionRequest',
      summary: 'Change a provision request; send the version you read',
      tag,
      auth: 'bearer',
      params: idParam,
      body: { kind: 'json', schema: 'ProvisionRequestPatch' },
      responses: { 200: { description: 'The changed request.', schema: 'ProvisionRequest' } },
      problems: [409],
      handler: async ({ principal, params, body }) => {
        const id = params['id']!;
        await visibleRequest(principal, id);
        const { version, activatesOn, expiresOn, ...changes } = body;
        const updated = await requests.update(
          id,
          version,
          {
            ...changes,
            ...(activatesOn !== undefined ? { activatesOn: Date.parse(activatesOn) } : {}),
            ...(expiresOn !== undefined ? { expiresOn: Date.parse(expiresOn) } : {}),
          },
          principal.actor,
        );
        return { status: 200, body: provisionRequestView(updated) };
      },
    }),
    statusRoute('enable', 'ENABLED'),
    statusRoute('disable', 'DISABLED'),
    defineRoute({
      method: 'post',
      path: `${base}/{id}/reprovision`,
      operationId: 'reprovisionProvisionRequest',
      summary: 'Let a device provision again with the same credentials (its certificate expired, or it was reset)',
      description:
        'For a COMPLETED or FAILED request (otherwise 409 REQUEST_WRONG_STATE): status ENABLED, jobStatus CREATED, ' +
        'retryCount 0, the same user name, password and activation key. An expiresOn that has passed or comes sooner than ' +
        'the default request validity (PROVISIO_REQUEST_DEFAULT_VALIDITY_DAYS) is moved to that validity from now. The device ' +
        'then connects to the provision broker with its original credentials and provisions as on first boot; when it ' +
        'completes, its older certificates are revoked. Refused (409 DUPLICATE) while another account holds the clientId. ' +
        'Audited as request.reprovision.',
      tag,
      auth: 'bearer',
      params: idParam,
      responses: { 200: { description: 'The request now.', schema: 'ProvisionRequest' } },
      problems: [409],
      handler: async ({ principal, params }) => {
        await visibleRequest(principal, params['id']!);
        const changed = await requests.reprovision(params['id']!, principal.actor);
        return { status: 200, body: provisionRequestView(changed) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: `${base}/{id}`,
      operationId: 'deleteProvisionRequest',
      summary: 'Delete a provision request',
      tag,
      auth: 'bearer',
      params: idParam,
      responses: { 204: { description: 'Deleted.' } },
      handler: async ({ principal, params }) => {
        const request = await visibleRequest(principal, params['id']!);
        await requests.delete(request.id, principal.actor);
        return { status: 204 };
      },
    }),
  ];
}
