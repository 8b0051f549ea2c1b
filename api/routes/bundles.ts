import type { Response } from 'express';
import { PlatformError } from '../../errors/platform-error.ts';
import type { BundleMetadata } from '../../store/types.ts';
import { requireWriteAccess, visibleOrNotFound } from '../access.ts';
import { viewCsvLayout } from '../csv-cells.ts';
import { invalid } from '../problem.ts';
import { ReferenceChecker } from '../reference-checker.ts';
import type { RouteDeps } from '../route-deps.ts';
import { apiPrefix, defineRoute, type ApiRoute, type ResponseDoc } from '../route-spec.ts';
import { sha256HexSchema } from '../schemas/bundles.ts';
import { idSchema } from '../schemas/common.ts';
import { bundleView } from '../views.ts';
import { listAndGetRoutes } from './list-and-get.ts';
import { requiredListAccount } from './list-scope.ts';

const tag = 'bundles';
const base = `${apiPrefix}/bundles`;
const idParam = { id: idSchema };

const contentResponse: ResponseDoc = {
  description: 'The bundle content.',
  content: { 'application/octet-stream': { type: 'string', contentMediaType: 'application/octet-stream' } },
  headers: {
    ETag: { description: 'The quoted sha256 of the content.', schema: { type: 'string' } },
    'X-Content-SHA256': { description: 'Hex sha256 of the content.', schema: sha256HexSchema },
  },
};

export function bundleRoutes(deps: RouteDeps): ApiRoute[] {
  const { store, bundleStorage, config } = deps;

  /** Streams the content with its length and hash; supports conditional and range requests. */
  async function sendContent(res: Response, bundle: BundleMetadata): Promise<void> {
    res.setHeader('ETag', `"${bundle.sha256}"`);
    res.setHeader('X-Content-SHA256', bundle.sha256);
    res.setHeader('Cache-Control', 'private, no-transform');
    await new Promise<void>((resolve, reject) => {
      res.sendFile(bundleStorage.pathOf(bundle.sha256), { etag: false, lastModified: false, dotfiles: 'deny' }, (error?: Error) => {
        if (!error) return resolve();
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          deps.log.error({ bundleId: bundle.id, sha256: bundle.sha256 }, 'bundle content missing from the data directory');
          return reject(new PlatformError('NOT_FOUND', { detail: 'the bundle content is missing' }));
        }
        reject(error);
      });
    });
  }

  return [
    defineRoute({
      method: 'post',
      path: base,
      operationId: 'uploadBundle',
      summary: 'Upload an application bundle (raw body)',
      tag,
      auth: 'bearer',
      query: 'BundleUploadQuery',
      headers: {
        'X-Content-SHA256': { description: 'Optional hex sha256 of the body; checked after the upload.', schema: sha256HexSchema },
      },
      body: { kind: 'binary', contentType: 'application/octet-stream', description: 'The bundle, at most bundleMaxBytes.' },
      responses: { 201: { description: 'Stored.', schema: 'Bundle' } },
      problems: [409, 413],
      handler: async ({ principal, query, req }) => {
        const { accountId, name, version } = query;
        requireWriteAccess(principal, accountId);
        const expectedSha256 = req.get('x-content-sha256');
        if (expectedSha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(expectedSha256)) {
          throw invalid('header/x-content-sha256', 'must be 64 hex digits');
        }
        const declared = req.get('content-length');
        if (declared !== undefined && Number(declared) > config.bundleMaxBytes) {
          throw new PlatformError('PAYLOAD_TOO_LARGE', { detail: `a bundle may have at most ${config.bundleMaxBytes} bytes` });
        }
        if (declared === '0' || (declared === undefined && req.get('transfer-encoding') === undefined)) {
          throw invalid('body', 'must not be empty');
        }
        await new ReferenceChecker(store).check('query', { accountId });
        const stored = await bundleStorage.put(req, {
          maxBytes: config.bundleMaxBytes,
          ...(expectedSha256 !== undefined ? { expectedSha256 } : {}),
        });
        if (stored.size === 0) throw invalid('body', 'must not be empty');
        const bundle = await store.createBundle({ accountId, name, version, size: stored.size, sha256: stored.sha256 });
        await deps.audit({
          type: 'bundle.created',
          actor: principal.actor,
          accountId,
          clientId: null,
          provisionRequestId: null,
          detail: { bundleId: bundle.id, name, version, size: stored.size, sha256: stored.sha256 },
        });
        return { status: 201, body: bundleView(bundle) };
      },
    }),
    ...listAndGetRoutes({
      base,
      tag,
      noun: 'bundle',
      view: bundleView,
      list: {
        operationId: 'listBundles',
        summary: 'List the bundles of an account; a page as JSON, or all of them as CSV',
        query: 'BundleListQuery',
        response: { description: 'A page of bundles.', schema: 'BundlePage' },
        csv: { filename: 'bundles.csv', noun: 'bundles', ...viewCsvLayout('Bundle', bundleView) },
        load: async (principal, { accountId, offset, limit }) => store.listBundles(requiredListAccount(principal, accountId), { offset, limit }),
      },
      get: {
        operationId: 'getBundle',
        summary: 'Get the metadata of a bundle',
        response: { description: 'The bundle metadata.', schema: 'Bundle' },
        load: (id) => store.getBundle(id),
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/{id}/content`,
      operationId: 'getBundleContent',
      summary: 'Download a bundle with the bearer token',
      tag,
      auth: 'bearer',
      params: idParam,
      responses: { 200: contentResponse },
      handler: async ({ principal, params, res }) => {
        await sendContent(res, visibleOrNotFound(principal, await store.getBundle(params['id']!), 'bundle'));
      },
    }),
    defineRoute({
      method: 'get',
      path: `${base}/{id}/download`,
      operationId: 'downloadBundle',
      summary: 'Device download with the signed token from the provisioning reply (no bearer token)',
      tag,
      auth: 'none',
      params: idParam,
      query: 'BundleDownloadQuery',
      responses: { 200: contentResponse },
      problems: [403],
      handler: async ({ params, query, res }) => {
        const id = params['id']!;
        const claims = deps.downloadTokens.verify(query.token, id);
        const bundle = await store.getBundle(id);
        if (!bundle) throw new PlatformError('NOT_FOUND', { detail: 'no such bundle' });
        await sendContent(res, bundle);
        await deps.audit({
          type: 'bundle.downloaded',
          actor: claims.clientId,
          accountId: bundle.accountId,
          clientId: claims.clientId,
          provisionRequestId: null,
          detail: { bundleId: id, status: res.statusCode },
        });
      },
    }),
    defineRoute({
      method: 'delete',
      path: `${base}/{id}`,
      operationId: 'deleteBundle',
      summary: 'Delete a bundle record (the content file, addressed by sha256 and possibly shared, stays)',
      tag,
      auth: 'bearer',
      params: idParam,
      responses: { 204: { description: 'Deleted.' } },
      problems: [409],
      handler: async ({ principal, params }) => {
        const bundle = visibleOrNotFound(principal, await store.getBundle(params['id']!), 'bundle');
        await store.deleteBundle(bundle.id);
        await deps.audit({
          type: 'bundle.deleted',
          actor: principal.actor,
          accountId: bundle.accountId,
          clientId: null,
          provisionRequestId: null,
          detail: { bundleId: bundle.id, name: bundle.name, version: bundle.version },
        });
        return { status: 204 };
      },
    }),
  ];
}
