import type { Page } from '../../store/types.ts';
import { visibleOrNotFound } from '../access.ts';
import type { Principal } from '../auth.ts';
import type { CsvLayout } from '../csv-cells.ts';
import { defineRoute, type ApiRoute, type ResponseDoc } from '../route-spec.ts';
import { idSchema } from '../schemas/common.ts';
import type { SchemaName, Validated } from '../schemas/index.ts';
import { pageView } from '../views.ts';
import { sendCsv, wantsCsv, withCsvAnswer } from './csv-export.ts';

/** What GET {base} and GET {base}/{id} of one kind of record (accounts, bundles, configurations) differ in. */
interface ListAndGet<T, Q extends SchemaName> {
  readonly base: string;
  readonly tag: string;
  /** The record in a 404's detail: "no such {noun}". */
  readonly noun: string;
  readonly view: (record: T) => unknown;
  readonly list: {
    readonly operationId: string;
    readonly summary: string;
    readonly query: Q;
    readonly response: ResponseDoc;
    /** Checks what the principal may list, and reads the page. */
    readonly load: (principal: Principal, query: Validated<Q>) => Promise<Page<T>>;
    /** The CSV answer (Accept: text/csv): every record the query selects, as `filename`; offset and limit are ignored. */
    readonly csv: CsvLayout<T> & { readonly filename: string; readonly noun: string };
  };
  readonly get: {
    readonly operationId: string;
    readonly summary: string;
    readonly response: ResponseDoc;
    /** The record with the account it belongs to, or null. */
    readonly load: (id: string) => Promise<(T & { readonly accountId: string }) | null>;
  };
}

/** A page of records (or all of them as CSV), and one record by id: 404 alike for a missing one and one of another account. */
export function listAndGetRoutes<T, Q extends SchemaName>(spec: ListAndGet<T, Q>): ApiRoute[] {
  const { base, tag, noun, view, list, get } = spec;
  return [
    defineRoute({
      method: 'get',
      path: base,
      operationId: list.operationId,
      summary: list.summary,
      tag,
      auth: 'bearer',
      query: list.query,
      responses: { 200: withCsvAnswer(list.response, list.csv.filename, list.csv.columns) },
      handler: async ({ principal, query, req, res }) => {
        if (wantsCsv(req)) return sendCsv({ ...list.csv, page: (offset, limit) => list.load(principal, { ...query, offset, limit }) }, res);
        return { status: 200, body: pageView(await list.load(principal, query), view) };
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/{id}`,
      operationId: get.operationId,
      summary: get.summary,
      tag,
      auth: 'bearer',
      params: { id: idSchema },
      responses: { 200: get.response },
      handler: async ({ principal, params }) => ({
        status: 200,
        body: view(visibleOrNotFound(principal, await get.load(params['id']!), noun)),
      }),
    }),
  ];
}
