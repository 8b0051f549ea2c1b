import { PlatformError } from '../../errors/platform-error.ts';
import { listScope, visibleOrNotFound } from '../access.ts';
import type { RouteDeps } from '../route-deps.ts';
import { apiPrefix, defineRoute, type ApiRoute } from '../route-spec.ts';
import { serialSchema } from '../schemas/certificates.ts';
import { certificateView, pageView } from '../views.ts';

const tag = 'certificates';
const base = `${apiPrefix}/certificates`;
const serialParam = { serial: serialSchema };

export function certificateRoutes(deps: RouteDeps): ApiRoute[] {
  const { store } = deps;
  return [
    defineRoute({
      method: 'get',
      path: base,
      operationId: 'listCertificates',
      summary: 'List issued device certificates',
      tag,
      auth: 'bearer',
      query: 'CertificateListQuery',
      responses: { 200: { description: 'A page of certificates.', schema: 'CertificatePage' } },
      handler: async ({ principal, query: filter }) => {
        const accountId = listScope(principal, filter.accountId);
        const page = await store.listCertificates({
          ...(accountId !== undefined ? { accountId } : {}),
          ...(filter.clientId !== undefined ? { clientId: filter.clientId } : {}),
          ...(filter.status !== undefined ? { status: filter.status } : {}),
          offset: filter.offset,
          limit: filter.limit,
        });
        return { status: 200, body: pageView(page, certificateView) };
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
      summary: 'The current certificate revocation list (PEM)',
      tag,
      auth: 'bearer',
      responses: { 200: { description: 'The CRL.', content: { 'application/pkix-crl': { type: 'string' } } } },
      problems: [404],
      handler: async ({ res }) => {
        if (!deps.crl) throw new PlatformError('NOT_FOUND', { detail: 'this server publishes no CRL' });
        const pem = await deps.crl();
        res.status(200).setHeader('Cache-Control', 'no-cache');
        res.type('application/pkix-crl').send(pem);
      },
    }),
  ];
}
