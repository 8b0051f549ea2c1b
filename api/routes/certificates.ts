import { Type } from '@sinclair/typebox';
import { PlatformError } from '../../errors/platform-error.ts';
import { listScope, visibleOrNotFound } from '../access.ts';
import { viewCsvLayout } from '../csv-cells.ts';
import type { RouteDeps } from '../route-deps.ts';
import { apiPrefix, defineRoute, type ApiRoute } from '../route-spec.ts';
import { serialSchema } from '../schemas/certificates.ts';
import { certificateView, pageView } from '../views.ts';
import { sendCsv, wantsCsv, withCsvAnswer } from './csv-export.ts';

const tag = 'certificates';
const base = `${apiPrefix}/certificates`;
const serialParam = { serial: serialSchema };

/**
 * Where the CRLs are published without credentials, on the API's HTTP server (the URL in device
 * certificates' cRLDistributionPoints): /crl/issuing-ca-{id}.crl for the list of the issuing CA with
 * that id (the first 16 hex digits of its key identifier), /crl/issuing-ca.crl for that of the
 * issuing CA in use (the URL certificates issued before per-CA lists name).
 */
export function publicCrlPathOf(issuingCaId?: string): string {
  return issuingCaId === undefined ? '/crl/issuing-ca.crl' : `/crl/issuing-ca-${issuingCaId}.crl`;
}
const publicCrlName = /^issuing-ca(?:-([0-9a-f]{2,16}))?\.crl$/;
/** How long a relying party may keep the published CRL before asking again (never past its nextUpdate). */
const publicCrlMaxAgeSeconds = 300;

/** certificates.csv: the JSON view without the PEM (GET /certificates/{serial} has it). */
const certificatesCsv = viewCsvLayout('Certificate', certificateView, ['pem']);

export function certificateRoutes(deps: RouteDeps): ApiRoute[] {
  const { store } = deps;
  return [
    defineRoute({
      method: 'get',
      path: base,
      operationId: 'listCertificates',
      summary: 'List issued device certificates; a page as JSON, or every match as CSV (without the PEM)',
      tag,
      auth: 'bearer',
      query: 'CertificateListQuery',
      responses: {
        200: withCsvAnswer({ description: 'A page of certificates.', schema: 'CertificatePage' }, 'certificates.csv', certificatesCsv.columns),
      },
      handler: async ({ principal, query: filter, req, res }) => {
        const accountId = listScope(principal, filter.accountId);
        const selection = {
          ...(accountId !== undefined ? { accountId } : {}),
          ...(filter.clientId !== undefined ? { clientId: filter.clientId } : {}),
          ...(filter.status !== undefined ? { status: filter.status } : {}),
        };
        const page = (offset: number, limit: number) => store.listCertificates({ ...selection, offset, limit });
        if (wantsCsv(req)) return sendCsv({ filename: 'certificates.csv', noun: 'certificates', ...certificatesCsv, page }, res);
        return { status: 200, body: pageView(await page(filter.offset, filter.limit), certificateView) };
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/{serial}`,
      operationId: 'getCertificate',
      summary: 'Get an issued certificate by serial',
      tag,
      auth: 'bearer',
      params: serialParam,
      responses: { 200: { description: 'The certificate.', schema: 'Certificate' } },
      handler: async ({ principal, params }) => {
        const certificate = visibleOrNotFound(principal, await store.getCertificate(params['serial']!.toLowerCase()), 'certificate');
        return { status: 200, body: certificateView(certificate) };
      },
    }),
    defineRoute({
      method: 'post',
      path: `${base}/{serial}/revoke`,
      operationId: 'revokeCertificate',
      summary: 'Revoke a certificate (idempotent: a second revocation keeps the first time and reason); ends the live session that uses it',
      tag,
      auth: 'bearer',
      params: serialParam,
      body: { kind: 'json', schema: 'Revocation' },
      responses: { 200: { description: 'The revoked certificate.', schema: 'Certificate' } },
      handler: async ({ principal, params, body }) => {
        const serial = params['serial']!.toLowerCase();
        const certificate = visibleOrNotFound(principal, await store.getCertificate(serial), 'certificate');
        const { reason } = body;
        const revoked = await store.revokeCertificate(serial, reason);
        if (certificate.status !== 'REVOKED') {
          await deps.audit({
            type: 'certificate.revoked',
            actor: principal.actor,
            accountId: revoked.accountId,
            clientId: revoked.clientId,
            provisionRequestId: revoked.provisionRequestId,
            detail: { serial, reason },
          });
        }
        // Before answering (one process: the session is closed by then). Sent again on a repeat,
        // so that retrying a revocation whose notice failed (Redis away) still ends the session.
        await deps.sessions.endSessions({ kind: 'certificate', clientId: revoked.clientId, serial, cause: 'revoked' });
        return { status: 200, body: certificateView(revoked) };
      },
    }),
    defineRoute({
      method: 'get',
      path: `${apiPrefix}/crl`,
      operationId: 'getCrl',
      summary: 'The current certificate revocation list of the issuing CA in use (PEM)',
      tag,
      auth: 'bearer',
      responses: { 200: { description: 'The CRL.', content: { 'application/pkix-crl': { type: 'string' } } } },
      problems: [404],
      handler: async ({ res }) => {
        if (!deps.crl) throw new PlatformError('NOT_FOUND', { detail: 'this server publishes no CRL' });
        const crl = await deps.crl();
        if (!crl) throw new PlatformError('NOT_FOUND', { detail: 'this server publishes no CRL' });
        const { pem } = crl;
        res.status(200).setHeader('Cache-Control', 'no-cache');
        res.type('application/pkix-crl').send(pem);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/crl/{name}',
      operationId: 'getPublishedCrl',
      summary: 'The current certificate revocation list of one issuing CA, DER, for devices and relying parties (no token)',
      description:
        'The URL written into the cRLDistributionPoints extension of every device certificate. issuing-ca-{id}.crl is ' +
        'the list of the issuing CA whose key identifier begins with the 16 hex digits {id}, signed by that CA and ' +
        'listing the revoked certificates it issued: the CA in use, or a retired one whose key the rollover kept, ' +
        'until it expires (404 otherwise). issuing-ca.crl is the list of the issuing CA in use, the same as /api/v1/crl, ' +
        'in DER. Lists are signed again at once after every revocation and at half their validity, before nextUpdate. ' +
        'ETag (the cRLNumber) and Last-Modified (thisUpdate) answer conditional requests with 304; Cache-Control ' +
        `max-age is at most ${publicCrlMaxAgeSeconds} s and never past nextUpdate.`,
      tag,
      auth: 'none',
      params: {
        name: Type.String({ pattern: publicCrlName.source, description: 'issuing-ca.crl, or issuing-ca-{id}.crl with the 16 hex digits of an issuing CA.' }),
      },
      responses: {
        200: {
          description: 'The CRL (DER).',
          content: { 'application/pkix-crl': { type: 'string', format: 'binary' } },
          headers: {
            ETag: { description: 'The cRLNumber in hex, quoted.', schema: { type: 'string' } },
            'Last-Modified': { description: 'thisUpdate of the list.', schema: { type: 'string' } },
            'Cache-Control': { description: `public, max-age at most ${publicCrlMaxAgeSeconds} s and never past nextUpdate.`, schema: { type: 'string' } },
            Expires: { description: 'nextUpdate of the list.', schema: { type: 'string' } },
          },
        },
        304: { description: 'Not modified (If-None-Match or If-Modified-Since).' },
      },
      problems: [404],
      handler: async ({ req, res, params }) => {
        if (!deps.crl) throw new PlatformError('NOT_FOUND', { detail: 'this server publishes no CRL' });
        const crl = await deps.crl(publicCrlName.exec(params['name'] ?? '')?.[1]);
        if (!crl) throw new PlatformError('NOT_FOUND', { detail: 'no CRL is published for that issuing CA' });
        const untilNextUpdate = Math.floor((crl.nextUpdate - Date.now()) / 1000);
        res.setHeader('Cache-Control', `public, max-age=${Math.max(0, Math.min(publicCrlMaxAgeSeconds, untilNextUpdate))}`);
        res.setHeader('ETag', `"${crl.number.toString(16)}"`);
        res.setHeader('Last-Modified', new Date(crl.thisUpdate).toUTCString());
        res.setHeader('Expires', new Date(crl.nextUpdate).toUTCString());
        res.type('application/pkix-crl');
        // express's req.fresh compares If-None-Match / If-Modified-Since with the headers just set.
        if (req.fresh) res.status(304).end();
        else res.status(200).send(crl.der);
      },
    }),
  ];
}
