import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DestinationStream } from 'pino';
import { createApiApp } from '../../api/app.ts';
import { initAdminToken } from '../../api/api-tokens.ts';
import { ApiTokenAuthenticator } from '../../api/auth.ts';
import { BundleDownloadTokens } from '../../api/bundle-download-tokens.ts';
import { BundleStorage } from '../../api/bundle-storage.ts';
import { startHttpServer } from '../../platform/http-server.ts';
import { loadConfig, type PlatformConfig } from '../../config/config.ts';
import { createLogger, type Logger } from '../../log/logger.ts';
import { openPlatformSecrets } from '../../platform/platform-secrets.ts';
import { openStore } from '../../store/open-store.ts';
import type { ProvisionStore } from '../../store/types.ts';
import type { SignedCrl } from '../../certs/certificate-authority.ts';
import type { FleetUpdateSender } from '../../cluster/fleet-update-notice.ts';
import type { SessionEnder } from '../../cluster/session-end-notice.ts';
import { provisioningCodeKeys } from '../../crypto/provisioning-code-hash.ts';
import { WebhookSecretBox } from '../../api/webhooks/webhook-secret-box.ts';

export interface ApiFixtureOptions {
  /** Settings over the defaults; dataDir defaults to a fresh temporary directory (removed by close). */
  readonly config?: Partial<PlatformConfig>;
  readonly crl?: () => Promise<SignedCrl>;
  /** Where logs go (default: nowhere), e.g. to check that no secret is logged. */
  readonly logDestination?: DestinationStream;
  readonly logLevel?: PlatformConfig['logLevel'];
  /** Wraps the store the API uses (fault injection, counting); `fixture.store` stays the real one. */
  readonly wrapStore?: (store: ProvisionStore) => ProvisionStore;
  /** Where fleet-update notices go (default: nowhere, as an API with no broker), e.g. to see which devices a change tells. */
  readonly fleetUpdates?: FleetUpdateSender;
  /** Where session-end notices go (default: nowhere, as an API with no broker), e.g. to see which sessions a change ends. */
  readonly sessions?: SessionEnder;
}

export interface ApiFixture {
  /** http://127.0.0.1:{port} */
  readonly baseUrl: string;
  /** The admin bearer token (generated at start unless config.adminToken was given). */
  readonly adminToken: string;
  readonly store: ProvisionStore;
  readonly config: PlatformConfig;
  readonly log: Logger;
  readonly downloadTokens: BundleDownloadTokens;
  readonly bundleStorage: BundleStorage;
  readonly authenticator: ApiTokenAuthenticator;
  /** fetch against the server with a bearer token (admin by default) and an optional JSON body. */
  api(method: string, path: string, options?: ApiCallOptions): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface ApiCallOptions {
  readonly body?: unknown;
  /** Bearer token; null sends none. Default: the admin token. */
  readonly token?: string | null;
  readonly headers?: Record<string, string>;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON (problem or resource), or the text when the answer is not JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- read field by field by the tests
  readonly body: any;
}

/** Starts the admin API on 127.0.0.1, port 0, over the real SQLite store in a temporary directory. */
export async function startApiFixture(options: ApiFixtureOptions = {}): Promise<ApiFixture> {
  const temporaryDir = options.config?.dataDir === undefined ? await mkdtemp(join(tmpdir(), 'provisio-api-')) : undefined;
  const config = loadConfig({}, { logLevel: options.logLevel ?? 'silent', ...options.config, ...(temporaryDir ? { dataDir: temporaryDir } : {}) });
  const log = createLogger(options.logLevel ?? (options.logDestination ? 'debug' : 'silent'), options.logDestination);
  const store = await openStore(config);
  const generated = await initAdminToken(store, config, log);
  const adminToken = config.adminToken ?? generated;
  if (!adminToken) throw new Error('the fixture store already had an admin token; pass config.adminToken');
  const secrets = await openPlatformSecrets(config, store, log);
  const downloadTokens = new BundleDownloadTokens(secrets.bundleToken);
  const bundleStorage = await BundleStorage.open(config.dataDir);
  const authenticator = new ApiTokenAuthenticator(store, config);
  const app = createApiApp({
    store: options.wrapStore ? options.wrapStore(store) : store,
    config,
    log,
    bundleStorage,
    downloadTokens,
    adminTokens: authenticator,
    webhookSecrets: new WebhookSecretBox(secrets.bundleToken),
    provisioningCodeKeys: provisioningCodeKeys(secrets.deviceKey),
    ...(options.crl ? { crl: options.crl } : {}),
    ...(options.fleetUpdates ? { fleetUpdates: options.fleetUpdates } : {}),
    ...(options.sessions ? { sessions: options.sessions } : {}),
  });
  const server = await startHttpServer(app, { host: '127.0.0.1', port: 0 });
  const baseUrl = `http://127.0.0.1:${server.port}`;

  async function api(method: string, path: string, call: ApiCallOptions = {}): Promise<ApiResponse> {
    const token = call.token === undefined ? adminToken : call.token;
    const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...call.headers };
    if (call.body !== undefined) headers['content-type'] ??= 'application/json';
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      ...(call.body !== undefined ? { body: typeof call.body === 'string' ? call.body : JSON.stringify(call.body) } : {}),
    });
    const text = await response.text();
    const isJson = /json/.test(response.headers.get('content-type') ?? '');
    return { status: response.status, headers: response.headers, body: isJson && text.length > 0 ? JSON.parse(text) : text };
  }

  return {
    baseUrl,
    adminToken,
    store,
    config,
    log,
    downloadTokens,
    bundleStorage,
    authenticator,
    api,
    close: async () => {
      await server.close();
      await store.close();
      if (temporaryDir) await rm(temporaryDir, { recursive: true, force: true });
    },
  };
}
