import { randomInt } from 'node:crypto';
import { provisioningCodeHash, type ProvisioningCodeKeys } from '../../crypto/provisioning-code-hash.ts';
import { PlatformError } from '../../errors/platform-error.ts';
import { formatProvisioningCode, provisioningCodeDigits } from '../../protocol/enrollment.ts';
import type { NewProvisioningCode, ProvisioningCode } from '../../store/types.ts';
import { listScope, requireWriteAccess, visibleOrNotFound } from '../access.ts';
import type { Principal } from '../auth.ts';
import { viewCsvLayout } from '../csv-cells.ts';
import { provisioningCodeView } from '../enrollment-views.ts';
import { ReferenceChecker } from '../reference-checker.ts';
import type { RouteDeps } from '../route-deps.ts';
import { apiPrefix, defineRoute, type ApiRoute } from '../route-spec.ts';
import { idSchema } from '../schemas/common.ts';
import { iso } from '../views.ts';
import { provisioningCodeColumns, provisioningCodesCsv } from './credentials-csv.ts';
import { wantsCsv } from './csv-export.ts';
import { listAndGetRoutes } from './list-and-get.ts';

const tag = 'provisioning-codes';
const base = `${apiPrefix}/provisioning-codes`;
const dayMs = 24 * 60 * 60 * 1000;
const codeSpace = 10 ** provisioningCodeDigits;
/** Draws of a whole batch before giving up: a repeat among 10^12 codes is rare, three in a row means something else is wrong. */
const maxDraws = 3;

/** `count` different codes of 12 digits (leading zeros kept), from the CSPRNG. */
function drawCodes(count: number): string[] {
  const codes = new Set<string>();
  while (codes.size < count) codes.add(String(randomInt(0, codeSpace)).padStart(provisioningCodeDigits, '0'));
  return [...codes];
}

/**
 * Provisioning codes (issue 18; docs/PROTOCOL.md §18): made in batches for an account and a
 * category, each shown once in the answer that made it (JSON, or a CSV file), stored only as an
 * HMAC under a key derived from the platform secrets; listed by who used them, deleted. The code is
 * never logged and never in an audit event: those name the code's id.
 */
export function provisioningCodeRoutes(deps: RouteDeps): ApiRoute[] {
  const { store } = deps;

  function keys(): ProvisioningCodeKeys {
    if (!deps.provisioningCodeKeys)
      throw new PlatformError('INTERNAL', { detail: 'this API was started without the platform secrets that key provisioning codes' });
    return deps.provisioningCodeKeys;
  }

  /** Stores the batch, drawing it again when a hash is taken already (DUPLICATE): the codes and their records, in order. */
  async function storeNewCodes(count: number, record: Omit<NewProvisioningCode, 'codeHash'>): Promise<{ code: string; stored: ProvisioningCode }[]> {
    const key = keys().current;
    for (let draw = 1; ; draw += 1) {
      const codes = drawCodes(count);
      try {
        const stored = await store.createProvisioningCodes(codes.map((code) => ({ ...record, codeHash: provisioningCodeHash(key, code) })));
        return stored.map((item, index) => ({ code: codes[index]!, stored: item }));
      } catch (error) {
        if (!(error instanceof PlatformError) || error.code !== 'DUPLICATE' || draw >= maxDraws) throw error;
      }
    }
  }

  async function visibleCode(principal: Principal, id: string): Promise<ProvisioningCode> {
    return visibleOrNotFound(principal, await store.getProvisioningCode(id), 'provisioning code');
  }

  return [
    defineRoute({
      method: 'post',
      path: base,
      operationId: 'createProvisioningCodes',
      summary: 'Make 1 to 1000 provisioning codes for an account and a category; the codes are in this answer only',
      description:
        'A device connects to the provision broker with user name `provisioning-code` and a code as its password (dashes and spaces allowed) ' +
        'and provisions into the account and category. A code admits one device; unused, it expires after `validityDays` and is deleted. ' +
        `With \`Accept: text/csv\` the answer is a CSV file (${provisioningCodeColumns.join(',')}) instead. The platform keeps only a keyed hash of each code: ` +
        'a lost code cannot be shown again; delete it and make another.',
      tag,
      auth: 'bearer',
      body: { kind: 'json', schema: 'NewProvisioningCodes' },
      responses: {
        201: {
          description: 'The codes, shown once.',
          schema: 'CreatedProvisioningCodes',
          content: { 'text/csv': { type: 'string', description: `provisioning-codes.csv; columns: ${provisioningCodeColumns.join(', ')}.` } },
          headers: { 'Content-Disposition': { description: 'CSV answers: attachment; filename="provisioning-codes.csv".', schema: { type: 'string' } } },
        },
      },
      handler: async ({ principal, body, req, res }) => {
        requireWriteAccess(principal, body.accountId);
        await new ReferenceChecker(store).check('body', { accountId: body.accountId, category: body.category });
        const now = Date.now();
        const expiresOn = now + (body.validityDays ?? deps.config.provisioningCodeValidityDays) * dayMs;
        const made = await storeNewCodes(body.count, { accountId: body.accountId, category: body.category, createdBy: principal.actor, expiresOn });
        await deps.audit({
          type: 'provisioning-code.created',
          actor: principal.actor,
          accountId: body.accountId,
          clientId: null,
          provisionRequestId: null,
          detail: { count: made.length, category: body.category, expiresOn: iso(expiresOn), provisioningCodeIds: made.map(({ stored }) => stored.id) },
        });
        const items = made.map(({ code, stored }) => ({
          id: stored.id,
          code: formatProvisioningCode(code),
          accountId: stored.accountId,
          category: stored.category,
          expiresOn: iso(stored.expiresOn),
        }));
        if (!wantsCsv(req)) return { status: 201, body: { items } };
        res.status(201).setHeader('Cache-Control', 'no-store');
        res.setHeader('Content-Disposition', 'attachment; filename="provisioning-codes.csv"');
        res.type('text/csv; charset=utf-8').send(provisioningCodesCsv(items));
        return undefined;
      },
    }),
    ...listAndGetRoutes({
      base,
      tag,
      noun: 'provisioning code',
      view: provisioningCodeView,
      list: {
        operationId: 'listProvisioningCodes',
        summary: 'List provisioning codes (never the code), oldest first; a page as JSON, or all of them as CSV',
        query: 'ProvisioningCodeListQuery',
        response: { description: 'A page of provisioning codes.', schema: 'ProvisioningCodePage' },
        csv: { filename: 'provisioning-codes.csv', noun: 'provisioning codes', ...viewCsvLayout('ProvisioningCode', provisioningCodeView) },
        load: async (principal, { accountId, status, offset, limit }) => {
          const account = listScope(principal, accountId);
          return store.listProvisioningCodes({ ...(account !== undefined ? { accountId: account } : {}), ...(status ? { status } : {}), offset, limit });
        },
      },
      get: {
        operationId: 'getProvisioningCode',
        summary: 'Get a provisioning code (never the code)',
        response: { description: 'The provisioning code.', schema: 'ProvisioningCode' },
        load: (id) => store.getProvisioningCode(id),
      },
    }),
    defineRoute({
      method: 'delete',
      path: `${base}/{id}`,
      operationId: 'deleteProvisioningCode',
      summary: 'Delete a provisioning code: unused, it admits no device; used, its record goes',
      description:
        'A device provisioning with it right now loses its provision-broker session; its provision request stays (disable or delete that too). ' +
        'A device that completed keeps its certificate.',
      tag,
      auth: 'bearer',
      params: { id: idSchema },
      responses: { 204: { description: 'Deleted.' } },
      handler: async ({ principal, params }) => {
        const code = await visibleCode(principal, params['id']!);
        await store.deleteProvisioningCode(code.id);
        const { clientId, provisionRequestId } = code;
        const provisioning = code.status === 'PENDING' && clientId !== null && provisionRequestId !== null;
        if (provisioning) await deps.sessions.endSessions({ kind: 'provision-request', clientId, provisionRequestId, cause: 'deleted' });
        await deps.audit({
          type: 'provisioning-code.deleted',
          actor: principal.actor,
          accountId: code.accountId,
          clientId: code.clientId,
          provisionRequestId: code.provisionRequestId,
          detail: { provisioningCodeId: code.id, status: code.status, sessionEnded: provisioning },
        });
        return { status: 204 };
      },
    }),
  ];
}
