/**
 * `npm run start:api`: the admin HTTP API (and bundle downloads) of a cluster, on the shared
 * Redis store. Creates the CA on a first start (the others wait for it, platform/ca-lock.ts) and
 * signs the CRL with it.
 */
import { createApiApp } from '../api/app.ts';
import { initAdminToken } from '../api/api-tokens.ts';
import { ApiTokenAuthenticator } from '../api/auth.ts';
import { BundleDownloadTokens } from '../api/bundle-download-tokens.ts';
import { BundleStorage } from '../api/bundle-storage.ts';
import { startHttpServer } from '../api/http-server.ts';
import { openStore } from '../store/open-store.ts';
import { openSharedCertificateAuthority } from './ca-lock.ts';
import { redisCheck, runService, serviceRedis } from './cluster-runtime.ts';

await runService('api', async (config, log) => {
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse().splice(0)) await close().catch((error: unknown) => log.warn({ err: error }, 'error while stopping'));
  };
  try {
    const store = await openStore(config);
    closers.push(() => store.close());
    const ca = await openSharedCertificateAuthority(config, log);
    const generatedAdminToken = await initAdminToken(store, config, log);
    const redis = serviceRedis(config, log);
    closers.push(async () => void redis.disconnect());
    const app = createApiApp({
      store,
      config,
      log,
      bundleStorage: await BundleStorage.open(config.dataDir),
      downloadTokens: await BundleDownloadTokens.open(store),
      adminTokens: new ApiTokenAuthenticator(store, config),
      crl: async () =>
        ca.createCrl(await store.listRevokedCertificates().then((list) => list.map((c) => ({ serial: c.serial, revokedOn: c.revokedOn ?? c.createdOn })))),
    });
    const http = await startHttpServer(app, { host: config.bindHost, port: config.httpPort });
    closers.push(() => http.close());
    if (generatedAdminToken) {
      // Shown once, on stdout and not in the log: only its hash is stored.
      process.stdout.write(`\n  admin API token (shown once, keep it): ${generatedAdminToken}\n\n`);
    }
    return { endpoints: { http: http.port }, checks: [redisCheck(redis)], close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
});
