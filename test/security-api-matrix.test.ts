import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startApiFixture, type ApiFixture, type ApiResponse } from './support/api-fixture.ts';
import { makeManufacturerCa } from './support/factory-certificates.ts';

/**
 * The admin API's access matrix (issue 12 §1): every route of the OpenAPI document × every kind of
 * token (the admin's, one of the owning account, one of the other account, none; the account
 * tokens of scope operator, the default) × both orders of
 * a pair of accounts. Each row makes a fresh record of the owning account where the call changes
 * it, expects one status per kind of caller, and checks that a refused call changed nothing.
 * An account token's refusals are the documented ones: 403 for admin-only routes and for naming
 * another account in a create or a list, 404 for another account's record (as for one that does
 * not exist). test/security-client-id-ownership.test.ts covers claims on clientIds.
 */
type Caller = 'admin' | 'own' | 'other' | 'none';
type AccountKey = 'acme' | 'globex';

interface World {
  readonly fixture: ApiFixture;
  readonly accounts: Record<AccountKey, string>;
  readonly tokens: Record<AccountKey, string>;
}

/** One call prepared against records of the owning account. */
interface Target {
  call(token: string | null): Promise<ApiResponse>;
  /** What the call could change, read with the admin token; compared before and after a refused call. */
  read?(): Promise<unknown>;
}

interface Row {
  readonly operationId: string;
  readonly expected: Record<Caller, number>;
  target(world: World, owner: AccountKey): Promise<Target>;
}

const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const scoped = (ok: number, other: number): Record<Caller, number> => ({ admin: ok, own: ok, other, none: 401 });
const adminOnly = (ok: number): Record<Caller, number> => ({ admin: ok, own: 403, other: 403, none: 401 });
const open = (ok: number): Record<Caller, number> => ({ admin: ok, own: ok, other: ok, none: ok });

function unique(kind: string): string {
  return `${kind}-${randomUUID().slice(0, 8)}`;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers, read field by field by the checks
async function admin(world: World, method: string, path: string, body?: unknown): Promise<any> {
  const answer = await world.fixture.api(method, path, body === undefined ? {} : { body });
  assert.ok(answer.status < 300, `${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

const api = (world: World, method: string, path: string, body?: unknown) => (token: string | null) =>
  world.fixture.api(method, path, { token, ...(body === undefined ? {} : { body }) });

async function newRequest(world: World, owner: AccountKey, extra: Record<string, unknown> = {}): Promise<{ id: string; version: number }> {
  return admin(world, 'POST', '/api/v1/provision-requests', { accountId: world.accounts[owner], clientId: unique('dev'), ...extra });
}

async function newApiToken(world: World, owner: AccountKey): Promise<string> {
  return (await admin(world, 'POST', '/api/v1/api-tokens', { accountId: world.accounts[owner], description: unique('token') })).id;
}

async function newWebhook(world: World, owner: AccountKey): Promise<string> {
  return (
    await admin(world, 'POST', '/api/v1/webhooks', { accountId: world.accounts[owner], url: 'https://hooks.example.com/in', eventTypes: ['device.online'] })
  ).id;
}

async function newCertificate(world: World, owner: AccountKey): Promise<string> {
  const serial = randomUUID().replace(/-/g, '');
  const now = Date.now();
  await world.fixture.store.recordCertificate({
    serial,
    accountId: world.accounts[owner],
    clientId: unique('dev'),
    provisionRequestId: null,
    pem,
    notBefore: now,
    notAfter: now + 86_400_000,
  });
  return serial;
}

async function newBundle(world: World, owner: AccountKey): Promise<string> {
  const response = await fetch(`${world.fixture.baseUrl}/api/v1/bundles?accountId=${world.accounts[owner]}&name=${unique('app')}&version=1`, {
    method: 'POST',
    headers: { authorization: `Bearer ${world.fixture.adminToken}`, 'content-type': 'application/octet-stream' },
    body: randomBytes(64),
  });
  assert.equal(response.status, 201);
  return ((await response.json()) as { id: string }).id;
}

const newConfiguration = async (world: World, owner: AccountKey): Promise<string> =>
  (await admin(world, 'POST', '/api/v1/configurations', { accountId: world.accounts[owner], name: unique('conf'), content: { a: 1 } })).id;

const newManufacturerCa = async (world: World): Promise<string> => {
  const name = unique('maker');
  return (await admin(world, 'POST', '/api/v1/manufacturer-cas', { name, pem: makeManufacturerCa(name).certPem })).id;
};

const newEnrollmentGroup = async (world: World, owner: AccountKey): Promise<string> =>
  (
    await admin(world, 'POST', '/api/v1/enrollment-groups', {
      accountId: world.accounts[owner],
      name: unique('group'),
      manufacturerCaId: await newManufacturerCa(world),
    })
  ).id;

const newProvisioningCode = async (world: World, owner: AccountKey): Promise<string> =>
  (await admin(world, 'POST', '/api/v1/provisioning-codes', { accountId: world.accounts[owner], count: 1 })).items[0].id;

const newDeviceAssignment = async (world: World): Promise<string> => {
  const clientId = unique('fd');
  await admin(world, 'PUT', `/api/v1/device-assignments/${clientId}`, { provisionBrokerUrl: 'mqtts://elsewhere.example.com:8883' });
  return clientId;
};

const newCategory = async (world: World, owner: AccountKey): Promise<string> =>
  (await admin(world, 'POST', '/api/v1/categories', { accountId: world.accounts[owner], name: unique('cat') })).id;

async function newUpdateJob(world: World, owner: AccountKey): Promise<string> {
  const bundleId = await newBundle(world, owner);
  return (await admin(world, 'POST', '/api/v1/update-jobs', { accountId: world.accounts[owner], name: unique('job'), bundleIds: [bundleId] })).id;
}

const readRequest = (world: World, id: string) => () => world.fixture.store.getProvisionRequest(id);

const newDevice = async (world: World, owner: AccountKey): Promise<string> =>
  (await world.fixture.store.upsertDevice(world.accounts[owner], unique('dev'), {})).id;

const rows: readonly Row[] = [
  // accounts and tokens: the admin's
  {
    operationId: 'createAccount',
    expected: adminOnly(201),
    target: async (world) => ({ call: api(world, 'POST', '/api/v1/accounts', { name: unique('acct') }) }),
  },
  { operationId: 'listAccounts', expected: adminOnly(200), target: async (world) => ({ call: api(world, 'GET', '/api/v1/accounts') }) },
  {
    operationId: 'getAccount',
    expected: scoped(200, 404),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/accounts/${world.accounts[owner]}`) }),
  },
  {
    operationId: 'updateAccount',
    expected: adminOnly(200),
    target: async (world, owner) => {
      const path = `/api/v1/accounts/${world.accounts[owner]}`;
      const { version } = await admin(world, 'GET', path);
      return { call: api(world, 'PATCH', path, { version, brokerUrl: null }), read: () => world.fixture.store.getAccount(world.accounts[owner]) };
    },
  },
  {
    // The owner keeps a request, so even the admin is refused (409): the row is about who gets that far.
    operationId: 'deleteAccount',
    expected: adminOnly(409),
    target: async (world, owner) => ({
      call: api(world, 'DELETE', `/api/v1/accounts/${world.accounts[owner]}`),
      read: () => world.fixture.store.getAccount(world.accounts[owner]),
    }),
  },
  {
    operationId: 'createApiToken',
    expected: adminOnly(201),
    target: async (world, owner) => ({ call: api(world, 'POST', '/api/v1/api-tokens', { accountId: world.accounts[owner] }) }),
  },
  // The matrix's account tokens are of scope operator: the token routes need admin (test/security-api-scopes.test.ts covers scopes).
  { operationId: 'listApiTokens', expected: adminOnly(200), target: async (world) => ({ call: api(world, 'GET', '/api/v1/api-tokens') }) },
  {
    operationId: 'getApiToken',
    expected: adminOnly(200),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/api-tokens/${await newApiToken(world, owner)}`) }),
  },
  {
    operationId: 'revokeApiToken',
    expected: adminOnly(200),
    target: async (world, owner) => {
      const id = await newApiToken(world, owner);
      return { call: api(world, 'POST', `/api/v1/api-tokens/${id}/revoke`), read: () => world.fixture.store.getSetting(`api-token:${id}`) };
    },
  },
  {
    operationId: 'listAuditEvents',
    expected: scoped(200, 403),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/audit-events?accountId=${world.accounts[owner]}`) }),
  },
  {
    // The live stream of the token's own scope (no account to name): its status, then the connection is dropped.
    operationId: 'streamEvents',
    expected: scoped(200, 200),
    target: async (world) => ({
      call: async (token) => {
        const aborter = new AbortController();
        const response = await fetch(`${world.fixture.baseUrl}/api/v1/events`, {
          headers: token === null ? {} : { authorization: `Bearer ${token}` },
          signal: aborter.signal,
        });
        const body: unknown = response.ok ? null : await response.json();
        aborter.abort();
        return { status: response.status, headers: response.headers, body };
      },
    }),
  },
  { operationId: 'getCurrentPrincipal', expected: scoped(200, 200), target: async (world) => ({ call: api(world, 'GET', '/api/v1/whoami') }) },

  // bundles
  {
    operationId: 'uploadBundle',
    expected: scoped(201, 403),
    target: async (world, owner) => ({
      call: async (token) => {
        const response = await fetch(`${world.fixture.baseUrl}/api/v1/bundles?accountId=${world.accounts[owner]}&name=${unique('up')}&version=1`, {
          method: 'POST',
          headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/octet-stream' },
          body: randomBytes(32),
        });
        return { status: response.status, headers: response.headers, body: await response.json() };
      },
      read: async () => (await world.fixture.store.listBundles(world.accounts[owner], { limit: 1000 })).total,
    }),
  },
  {
    operationId: 'listBundles',
    expected: scoped(200, 403),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/bundles?accountId=${world.accounts[owner]}`) }),
  },
  {
    operationId: 'getBundle',
    expected: scoped(200, 404),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/bundles/${await newBundle(world, owner)}`) }),
  },
  {
    operationId: 'getBundleContent',
    expected: scoped(200, 404),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/bundles/${await newBundle(world, owner)}/content`) }),
  },
  {
    // A device's signed link, not a bearer token, opens it: the same for every caller.
    operationId: 'downloadBundle',
    expected: open(200),
    target: async (world, owner) => {
      const id = await newBundle(world, owner);
      const token = world.fixture.downloadTokens.create({ bundleId: id, clientId: 'dev', ttlSeconds: 60 });
      return { call: api(world, 'GET', `/api/v1/bundles/${id}/download?token=${encodeURIComponent(token)}`) };
    },
  },
  {
    operationId: 'deleteBundle',
    expected: scoped(204, 404),
    target: async (world, owner) => {
      const id = await newBundle(world, owner);
      return { call: api(world, 'DELETE', `/api/v1/bundles/${id}`), read: () => world.fixture.store.getBundle(id) };
    },
  },

  // certificates
  {
    operationId: 'listCertificates',
    expected: scoped(200, 403),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/certificates?accountId=${world.accounts[owner]}`) }),
  },
  {
    operationId: 'getCertificate',
    expected: scoped(200, 404),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/certificates/${await newCertificate(world, owner)}`) }),
  },
  {
    operationId: 'revokeCertificate',
    expected: scoped(200, 404),
    target: async (world, owner) => {
      const serial = await newCertificate(world, owner);
      return {
        call: api(world, 'POST', `/api/v1/certificates/${serial}/revoke`, { reason: 'keyCompromise' }),
        read: () => world.fixture.store.getCertificate(serial),
      };
    },
  },
  {
    operationId: 'requestCertificateRenewal',
    expected: scoped(202, 404),
    target: async (world, owner) => {
      const clientId = unique('dev');
      await newRequest(world, owner, { clientId });
      await world.fixture.store.upsertDevice(world.accounts[owner], clientId, { online: true });
      return {
        call: api(world, 'POST', '/api/v1/certificate-renewals', { clientId, reason: 'keyCompromise' }),
        read: async () => (await world.fixture.store.listAudit({ type: 'certificate.renewal-requested', clientId })).total,
      };
    },
  },
  { operationId: 'getCrl', expected: scoped(200, 200), target: async (world) => ({ call: api(world, 'GET', '/api/v1/crl') }) },
  { operationId: 'getPublishedCrl', expected: open(200), target: async (world) => ({ call: api(world, 'GET', '/crl/issuing-ca.crl') }) },

  // configurations
  {
    operationId: 'createConfiguration',
    expected: scoped(201, 403),
    target: async (world, owner) => ({
      call: api(world, 'POST', '/api/v1/configurations', { accountId: world.accounts[owner], name: unique('c'), content: {} }),
      read: async () => (await world.fixture.store.listConfigurations(world.accounts[owner], { limit: 1000 })).total,
    }),
  },
  {
    operationId: 'listConfigurations',
    expected: scoped(200, 403),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/configurations?accountId=${world.accounts[owner]}`) }),
  },
  {
    operationId: 'getConfiguration',
    expected: scoped(200, 404),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/configurations/${await newConfiguration(world, owner)}`) }),
  },
  {
    operationId: 'deleteConfiguration',
    expected: scoped(204, 404),
    target: async (world, owner) => {
      const id = await newConfiguration(world, owner);
      return { call: api(world, 'DELETE', `/api/v1/configurations/${id}`), read: () => world.fixture.store.getConfiguration(id) };
    },
  },

  {
    operationId: 'editConfiguration',
    expected: scoped(200, 404),
    target: async (world, owner) => {
      const id = await newConfiguration(world, owner);
      return {
        call: api(world, 'PATCH', `/api/v1/configurations/${id}`, { version: 1, content: { a: 2 } }),
        read: async () => (await world.fixture.store.getConfiguration(id))?.version,
      };
    },
  },
  {
    operationId: 'listConfigurationVersions',
    expected: scoped(200, 404),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/configurations/${await newConfiguration(world, owner)}/versions`) }),
  },

  // categories
  {
    operationId: 'createCategory',
    expected: scoped(201, 403),
    target: async (world, owner) => ({
      call: api(world, 'POST', '/api/v1/categories', { accountId: world.accounts[owner], name: unique('cat') }),
      read: async () => (await world.fixture.store.listCategories(world.accounts[owner], { limit: 1000 })).total,
    }),
  },
  {
    operationId: 'listCategories',
    expected: scoped(200, 403),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/categories?accountId=${world.accounts[owner]}`) }),
  },
  {
    operationId: 'getCategory',
    expected: scoped(200, 404),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/categories/${await newCategory(world, owner)}`) }),
  },
  {
    operationId: 'updateCategory',
    expected: scoped(200, 404),
    target: async (world, owner) => {
      const id = await newCategory(world, owner);
      return {
        call: api(world, 'PATCH', `/api/v1/categories/${id}`, { version: 1, description: 'changed' }),
        read: async () => (await world.fixture.store.getCategory(id))?.version,
      };
    },
  },
  {
    operationId: 'deleteCategory',
    expected: scoped(204, 404),
    target: async (world, owner) => {
      const id = await newCategory(world, owner);
      return { call: api(world, 'DELETE', `/api/v1/categories/${id}`), read: () => world.fixture.store.getCategory(id) };
    },
  },

  // meta
  { operationId: 'getHealth', expected: open(200), target: async (world) => ({ call: api(world, 'GET', '/healthz') }) },
  { operationId: 'getReadiness', expected: open(200), target: async (world) => ({ call: api(world, 'GET', '/readyz') }) },
  { operationId: 'getOpenApi', expected: open(200), target: async (world) => ({ call: api(world, 'GET', '/api/v1/openapi.json') }) },

  // provision requests
  {
    operationId: 'createProvisionRequest',
    expected: scoped(201, 403),
    target: async (world, owner) => ({
      call: api(world, 'POST', '/api/v1/provision-requests', { accountId: world.accounts[owner], clientId: unique('new') }),
      read: async () => (await world.fixture.store.listProvisionRequests({ accountId: world.accounts[owner] })).total,
    }),
  },
  {
    operationId: 'createProvisionRequestBatch',
    expected: scoped(201, 403),
    target: async (world, owner) => ({
      call: api(world, 'POST', '/api/v1/provision-requests/batch', { requests: [{ accountId: world.accounts[owner], clientId: unique('batch') }] }),
      read: async () => (await world.fixture.store.listProvisionRequests({ accountId: world.accounts[owner] })).total,
    }),
  },
  {
    operationId: 'listProvisionRequests',
    expected: scoped(200, 403),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/provision-requests?accountId=${world.accounts[owner]}`) }),
  },
  {
    operationId: 'getProvisionRequest',
    expected: scoped(200, 404),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/provision-requests/${(await newRequest(world, owner)).id}`) }),
  },
  {
    operationId: 'updateProvisionRequest',
    expected: scoped(200, 404),
    target: async (world, owner) => {
      const { id, version } = await newRequest(world, owner);
      return { call: api(world, 'PATCH', `/api/v1/provision-requests/${id}`, { version, retryMaxAttempts: 9 }), read: readRequest(world, id) };
    },
  },
  {
    operationId: 'enableProvisionRequest',
    expected: scoped(200, 404),
    target: async (world, owner) => {
      const { id } = await newRequest(world, owner, { status: 'DISABLED' });
      return { call: api(world, 'POST', `/api/v1/provision-requests/${id}/enable`), read: readRequest(world, id) };
    },
  },
  {
    operationId: 'disableProvisionRequest',
    expected: scoped(200, 404),
    target: async (world, owner) => {
      const { id } = await newRequest(world, owner);
      return { call: api(world, 'POST', `/api/v1/provision-requests/${id}/disable`), read: readRequest(world, id) };
    },
  },
  {
    operationId: 'reprovisionProvisionRequest',
    expected: scoped(200, 404),
    target: async (world, owner) => {
      const { id, version } = await newRequest(world, owner);
      await world.fixture.store.updateProvisionRequest(id, version, { jobStatus: 'COMPLETED', status: 'DISABLED', modifiedBy: 'test' });
      return { call: api(world, 'POST', `/api/v1/provision-requests/${id}/reprovision`), read: readRequest(world, id) };
    },
  },
  {
    operationId: 'deleteProvisionRequest',
    expected: scoped(204, 404),
    target: async (world, owner) => {
      const { id } = await newRequest(world, owner);
      return { call: api(world, 'DELETE', `/api/v1/provision-requests/${id}`), read: readRequest(world, id) };
    },
  },

  // update jobs
  {
    operationId: 'createUpdateJob',
    expected: scoped(201, 403),
    target: async (world, owner) => {
      const bundleId = await newBundle(world, owner);
      return {
        call: api(world, 'POST', '/api/v1/update-jobs', { accountId: world.accounts[owner], name: unique('job'), bundleIds: [bundleId] }),
        read: async () => (await world.fixture.store.listUpdateJobs({ accountId: world.accounts[owner] })).total,
      };
    },
  },
  {
    operationId: 'listUpdateJobs',
    expected: scoped(200, 403),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/update-jobs?accountId=${world.accounts[owner]}`) }),
  },
  {
    operationId: 'getUpdateJob',
    expected: scoped(200, 404),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/update-jobs/${await newUpdateJob(world, owner)}`) }),
  },
  {
    operationId: 'listUpdateJobDevices',
    expected: scoped(200, 404),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/update-jobs/${await newUpdateJob(world, owner)}/devices`) }),
  },
  ...(['pause', 'resume', 'cancel'] as const).map((action): Row => ({
    operationId: `${action}UpdateJob`,
    expected: scoped(200, 404),
    target: async (world, owner) => {
      const id = await newUpdateJob(world, owner);
      if (action === 'resume') await admin(world, 'POST', `/api/v1/update-jobs/${id}/pause`);
      return { call: api(world, 'POST', `/api/v1/update-jobs/${id}/${action}`), read: async () => (await world.fixture.store.getUpdateJob(id))?.state };
    },
  })),
  // the device registry
  {
    operationId: 'listDevices',
    expected: scoped(200, 403),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/devices?accountId=${world.accounts[owner]}`) }),
  },
  {
    operationId: 'getDevice',
    expected: scoped(200, 404),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/devices/${await newDevice(world, owner)}`) }),
  },
  {
    operationId: 'updateDevice',
    expected: scoped(200, 404),
    target: async (world, owner) => {
      const id = await newDevice(world, owner);
      return { call: api(world, 'PATCH', `/api/v1/devices/${id}`, { tags: ['moved'] }), read: () => world.fixture.store.getDeviceById(id) };
    },
  },
  // manufacturer CAs and their blocked certificates: platform-wide, so no account token reaches them (403), and writes need admin
  {
    operationId: 'createManufacturerCa',
    expected: adminOnly(201),
    target: async (world) => {
      const name = unique('maker');
      return {
        call: api(world, 'POST', '/api/v1/manufacturer-cas', { name, pem: makeManufacturerCa(name).certPem }),
        read: async () => (await world.fixture.store.listManufacturerCas()).length,
      };
    },
  },
  { operationId: 'listManufacturerCas', expected: adminOnly(200), target: async (world) => ({ call: api(world, 'GET', '/api/v1/manufacturer-cas') }) },
  {
    operationId: 'getManufacturerCa',
    expected: adminOnly(200),
    target: async (world) => ({ call: api(world, 'GET', `/api/v1/manufacturer-cas/${await newManufacturerCa(world)}`) }),
  },
  {
    operationId: 'updateManufacturerCa',
    expected: adminOnly(200),
    target: async (world) => {
      const id = await newManufacturerCa(world);
      return {
        call: api(world, 'PATCH', `/api/v1/manufacturer-cas/${id}`, { version: 1, enabled: false }),
        read: () => world.fixture.store.getManufacturerCa(id),
      };
    },
  },
  {
    operationId: 'deleteManufacturerCa',
    expected: adminOnly(204),
    target: async (world) => {
      const id = await newManufacturerCa(world);
      return { call: api(world, 'DELETE', `/api/v1/manufacturer-cas/${id}`), read: () => world.fixture.store.getManufacturerCa(id) };
    },
  },
  {
    operationId: 'blockFactoryCertificate',
    expected: adminOnly(201),
    target: async (world) => {
      const id = await newManufacturerCa(world);
      return {
        call: api(world, 'POST', `/api/v1/manufacturer-cas/${id}/blocked-certificates`, { serial: '1001', reason: 'stolen' }),
        read: () => world.fixture.store.getFactoryCertificateBlock(id, '1001'),
      };
    },
  },
  {
    operationId: 'listFactoryCertificateBlocks',
    expected: adminOnly(200),
    target: async (world) => ({ call: api(world, 'GET', `/api/v1/manufacturer-cas/${await newManufacturerCa(world)}/blocked-certificates`) }),
  },
  {
    operationId: 'unblockFactoryCertificate',
    expected: adminOnly(204),
    target: async (world) => {
      const id = await newManufacturerCa(world);
      await admin(world, 'POST', `/api/v1/manufacturer-cas/${id}/blocked-certificates`, { serial: '1001', reason: 'stolen' });
      return {
        call: api(world, 'DELETE', `/api/v1/manufacturer-cas/${id}/blocked-certificates/1001`),
        read: () => world.fixture.store.getFactoryCertificateBlock(id, '1001'),
      };
    },
  },
  // enrollment groups and provisioning codes: records of an account, as categories are
  {
    operationId: 'createEnrollmentGroup',
    expected: scoped(201, 403),
    target: async (world, owner) => {
      const manufacturerCaId = await newManufacturerCa(world);
      return {
        call: api(world, 'POST', '/api/v1/enrollment-groups', { accountId: world.accounts[owner], name: unique('group'), manufacturerCaId }),
        read: async () => (await world.fixture.store.listEnrollmentGroups({ manufacturerCaId })).total,
      };
    },
  },
  {
    operationId: 'listEnrollmentGroups',
    expected: scoped(200, 403),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/enrollment-groups?accountId=${world.accounts[owner]}`) }),
  },
  {
    operationId: 'getEnrollmentGroup',
    expected: scoped(200, 404),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/enrollment-groups/${await newEnrollmentGroup(world, owner)}`) }),
  },
  {
    operationId: 'updateEnrollmentGroup',
    expected: scoped(200, 404),
    target: async (world, owner) => {
      const id = await newEnrollmentGroup(world, owner);
      return {
        call: api(world, 'PATCH', `/api/v1/enrollment-groups/${id}`, { version: 1, enabled: false }),
        read: () => world.fixture.store.getEnrollmentGroup(id),
      };
    },
  },
  {
    operationId: 'deleteEnrollmentGroup',
    expected: scoped(204, 404),
    target: async (world, owner) => {
      const id = await newEnrollmentGroup(world, owner);
      return { call: api(world, 'DELETE', `/api/v1/enrollment-groups/${id}`), read: () => world.fixture.store.getEnrollmentGroup(id) };
    },
  },
  {
    operationId: 'createProvisioningCodes',
    expected: scoped(201, 403),
    target: async (world, owner) => ({
      call: api(world, 'POST', '/api/v1/provisioning-codes', { accountId: world.accounts[owner], count: 2 }),
      read: async () => (await world.fixture.store.listProvisioningCodes({ accountId: world.accounts[owner], limit: 0 })).total,
    }),
  },
  {
    operationId: 'listProvisioningCodes',
    expected: scoped(200, 403),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/provisioning-codes?accountId=${world.accounts[owner]}`) }),
  },
  {
    operationId: 'getProvisioningCode',
    expected: scoped(200, 404),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/provisioning-codes/${await newProvisioningCode(world, owner)}`) }),
  },
  {
    operationId: 'deleteProvisioningCode',
    expected: scoped(204, 404),
    target: async (world, owner) => {
      const id = await newProvisioningCode(world, owner);
      return { call: api(world, 'DELETE', `/api/v1/provisioning-codes/${id}`), read: () => world.fixture.store.getProvisioningCode(id) };
    },
  },
  // device assignments: platform-wide, as manufacturer CAs are
  { operationId: 'listDeviceAssignments', expected: adminOnly(200), target: async (world) => ({ call: api(world, 'GET', '/api/v1/device-assignments') }) },
  {
    operationId: 'getDeviceAssignment',
    expected: adminOnly(200),
    target: async (world) => ({ call: api(world, 'GET', `/api/v1/device-assignments/${await newDeviceAssignment(world)}`) }),
  },
  {
    operationId: 'putDeviceAssignment',
    expected: adminOnly(200),
    target: async (world, owner) => {
      const clientId = unique('fd');
      const enrollmentGroupId = await newEnrollmentGroup(world, owner);
      return {
        call: api(world, 'PUT', `/api/v1/device-assignments/${clientId}`, { enrollmentGroupId }),
        read: () => world.fixture.store.getDeviceAssignment(clientId),
      };
    },
  },
  {
    operationId: 'deleteDeviceAssignment',
    expected: adminOnly(204),
    target: async (world) => {
      const clientId = await newDeviceAssignment(world);
      return { call: api(world, 'DELETE', `/api/v1/device-assignments/${clientId}`), read: () => world.fixture.store.getDeviceAssignment(clientId) };
    },
  },
  // webhooks: admin scope, so the matrix's operator-scoped account tokens are refused (403) even in their own account
  {
    operationId: 'createWebhook',
    expected: adminOnly(201),
    target: async (world, owner) => ({
      call: api(world, 'POST', '/api/v1/webhooks', { accountId: world.accounts[owner], url: 'https://hooks.example.com/in', eventTypes: ['device.online'] }),
      read: async () => (await world.fixture.store.listWebhooks()).length,
    }),
  },
  { operationId: 'listWebhooks', expected: adminOnly(200), target: async (world) => ({ call: api(world, 'GET', '/api/v1/webhooks') }) },
  {
    operationId: 'getWebhook',
    expected: adminOnly(200),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/webhooks/${await newWebhook(world, owner)}`) }),
  },
  {
    operationId: 'updateWebhook',
    expected: adminOnly(200),
    target: async (world, owner) => {
      const id = await newWebhook(world, owner);
      return { call: api(world, 'PATCH', `/api/v1/webhooks/${id}`, { enabled: false }), read: () => world.fixture.store.getWebhook(id) };
    },
  },
  {
    operationId: 'deleteWebhook',
    expected: adminOnly(204),
    target: async (world, owner) => {
      const id = await newWebhook(world, owner);
      return { call: api(world, 'DELETE', `/api/v1/webhooks/${id}`), read: () => world.fixture.store.getWebhook(id) };
    },
  },
  {
    operationId: 'listWebhookDeliveries',
    expected: adminOnly(200),
    target: async (world, owner) => ({ call: api(world, 'GET', `/api/v1/webhooks/${await newWebhook(world, owner)}/deliveries`) }),
  },
  {
    operationId: 'redeliverWebhook',
    expected: adminOnly(202),
    target: async (world, owner) => {
      const id = await newWebhook(world, owner);
      return { call: api(world, 'POST', `/api/v1/webhooks/${id}/redeliver`, { fromEventId: '1' }), read: () => world.fixture.store.getWebhook(id) };
    },
  },
];

describe('Admin API access matrix: every route × every kind of token × both orders of a pair of accounts', () => {
  let world: World;

  before(async () => {
    const thisUpdate = Math.floor(Date.now() / 1000) * 1000;
    const crl = {
      pem: '-----BEGIN X509 CRL-----\nMIIB\n-----END X509 CRL-----\n',
      der: Buffer.from('MIIB', 'base64'),
      number: 1n,
      thisUpdate,
      nextUpdate: thisUpdate + 86_400_000,
    };
    const fixture = await startApiFixture({ crl: async () => crl });
    const account = async (name: string): Promise<string> => (await fixture.api('POST', '/api/v1/accounts', { body: { name } })).body.id;
    const accounts = { acme: await account('acme'), globex: await account('globex') };
    const token = async (accountId: string): Promise<string> => (await fixture.api('POST', '/api/v1/api-tokens', { body: { accountId } })).body.token;
    world = { fixture, accounts, tokens: { acme: await token(accounts.acme), globex: await token(accounts.globex) } };
    // Every account keeps a request, so that it cannot be deleted under the other rows.
    for (const owner of ['acme', 'globex'] as const) await newRequest(world, owner);
  });
  after(() => world?.fixture.close());

  it('Should have a row for every operation of the OpenAPI document', async () => {
    const document = (await world.fixture.api('GET', '/api/v1/openapi.json', { token: null })).body as {
      paths: Record<string, Record<string, { operationId: string }>>;
    };
    const operations = Object.values(document.paths).flatMap((methods) => Object.values(methods).map((operation) => operation.operationId));
    assert.deepEqual(rows.map((row) => row.operationId).sort(), [...operations].sort());
  });

  for (const row of rows) {
    for (const owner of ['acme', 'globex'] as const) {
      const other: AccountKey = owner === 'acme' ? 'globex' : 'acme';
      for (const caller of ['admin', 'own', 'other', 'none'] as const) {
        it(`${row.operationId} on ${owner}'s records, ${caller === 'own' ? `${owner}'s token` : caller === 'other' ? `${other}'s token` : caller === 'admin' ? 'the admin token' : 'no token'} → ${row.expected[caller]}`, async () => {
          const token = { admin: world.fixture.adminToken, own: world.tokens[owner], other: world.tokens[other], none: null }[caller];
          const target = await row.target(world, owner);
          const before = await target.read?.();
          const answer = await target.call(token);
          assert.equal(answer.status, row.expected[caller], JSON.stringify(answer.body).slice(0, 300));
          if (answer.status >= 400 && target.read) assert.deepEqual(await target.read(), before, 'a refused call changes nothing');
        });
      }
    }
  }

  it("Should show an account token only its own records in lists that name no account, and none of the other's ids", async () => {
    for (const owner of ['acme', 'globex'] as const) {
      const other: AccountKey = owner === 'acme' ? 'globex' : 'acme';
      await newCertificate(world, other);
      for (const path of [
        '/api/v1/provision-requests?limit=1000',
        '/api/v1/certificates?limit=1000',
        '/api/v1/audit-events?limit=1000',
        '/api/v1/bundles?limit=1000',
        '/api/v1/configurations?limit=1000',
        '/api/v1/devices?limit=1000',
        '/api/v1/enrollment-groups?limit=1000',
        '/api/v1/provisioning-codes?limit=1000',
      ]) {
        const answer = await world.fixture.api('GET', path, { token: world.tokens[owner] });
        assert.equal(answer.status, 200, path);
        assert.ok(
          answer.body.total > 0 || path.includes('bundles') || path.includes('configurations') || path.includes('devices'),
          `${path}: own records listed`,
        );
        assert.ok(
          answer.body.items.every((item: { accountId: string }) => item.accountId === world.accounts[owner]),
          path,
        );
        assert.doesNotMatch(JSON.stringify(answer.body), new RegExp(world.accounts[other]), path);
      }
    }
  });
});
