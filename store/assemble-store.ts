import { deleteExpiredAuditEvents, type AuditLogEnd } from './audit-expiry.ts';
import { storeCallDuration } from '../metrics/metrics.ts';
import type { ProvisionStore } from './types.ts';

/**
 * Both backends build their ProvisionStore the same way: from one part per topic (accounts,
 * provision requests, …) and the few members each writes itself (BackendMethods). This table
 * says which part method answers which store method. The parts' method types follow from it and
 * from ProvisionStore (type-checked against each backend's parts), so a new store method that a
 * part answers takes its line in ProvisionStore, its line here and its method in each backend's part.
 */
const partMethods = {
  accounts: {
    createAccount: 'create',
    getAccount: 'get',
    getAccountByName: 'getByName',
    listAccounts: 'list',
    updateAccount: 'update',
    deleteAccount: 'delete',
  },
  requests: {
    createProvisionRequest: 'create',
    getProvisionRequest: 'get',
    findEnabledProvisionRequest: 'findEnabled',
    listProvisionRequests: 'list',
    updateProvisionRequest: 'update',
    deleteProvisionRequest: 'delete',
    replaceProvisionRequest: 'replace',
  },
  clientIdHolders: {
    findClientIdHolders: 'find',
  },
  attachments: {
    createConfiguration: 'createConfiguration',
    getConfiguration: 'getConfiguration',
    listConfigurations: 'listConfigurations',
    deleteConfiguration: 'deleteConfiguration',
    updateConfigurationContent: 'updateConfigurationContent',
    listConfigurationVersions: 'listConfigurationVersions',
    getConfigurationVersion: 'getConfigurationVersion',
    createBundle: 'createBundle',
    getBundle: 'getBundle',
    listBundles: 'listBundles',
    deleteBundle: 'deleteBundle',
  },
  certificates: {
    recordCertificate: 'record',
    getCertificate: 'get',
    listCertificates: 'list',
    revokeCertificate: 'revoke',
    listRevokedCertificates: 'listRevoked',
    listClientCertificates: 'listOfClient',
    settleRenewal: 'settleRenewal',
    listUnsettledRenewals: 'listUnsettledRenewals',
  },
  categories: {
    createCategory: 'create',
    getCategory: 'get',
    getCategoryByName: 'getByName',
    listCategories: 'list',
    updateCategory: 'update',
    deleteCategory: 'delete',
  },
  devices: {
    upsertDevice: 'upsert',
    upsertDeviceUnlessOfflineSince: 'upsertUnlessOfflineSince',
    getDevice: 'get',
    getDeviceById: 'getById',
    listDevices: 'list',
    deleteDevice: 'delete',
    markBrokerDevicesOffline: 'markBrokerOffline',
    markDeviceOffline: 'markOffline',
  },
  updateJobs: {
    createUpdateJob: 'create',
    getUpdateJob: 'get',
    listUpdateJobs: 'list',
    updateUpdateJobState: 'updateState',
    setJobDeviceStatus: 'setDeviceStatus',
    getJobDeviceStatus: 'getDeviceStatus',
    listJobDevices: 'listDevices',
    countJobDevices: 'countDevices',
    listDeviceJobs: 'listOfDevice',
  },
  brokerHeartbeats: {
    recordBrokerHeartbeat: 'record',
    listBrokerHeartbeats: 'list',
    deleteBrokerHeartbeat: 'delete',
  },
  webhooks: {
    createWebhook: 'create',
    getWebhook: 'get',
    listWebhooks: 'list',
    updateWebhook: 'update',
    deleteWebhook: 'delete',
    moveWebhookCursor: 'moveCursor',
    claimWebhookLease: 'claimLease',
    recordWebhookAttempt: 'recordAttempt',
    listWebhookAttempts: 'listAttempts',
    listAuditAfter: 'listAuditAfter',
  },
  manufacturerCas: {
    createManufacturerCa: 'create',
    getManufacturerCa: 'get',
    listManufacturerCas: 'list',
    updateManufacturerCa: 'update',
    deleteManufacturerCa: 'delete',
    blockFactoryCertificate: 'block',
    getFactoryCertificateBlock: 'getBlock',
    listFactoryCertificateBlocks: 'listBlocks',
    unblockFactoryCertificate: 'unblock',
  },
  enrollmentGroups: {
    createEnrollmentGroup: 'create',
    getEnrollmentGroup: 'get',
    listEnrollmentGroups: 'list',
    updateEnrollmentGroup: 'update',
    deleteEnrollmentGroup: 'delete',
  },
  provisioningCodes: {
    createProvisioningCodes: 'createMany',
    getProvisioningCode: 'get',
    findProvisioningCodeByHash: 'findByHash',
    listProvisioningCodes: 'list',
    bindProvisioningCode: 'bind',
    markProvisioningCodeRegistered: 'markRegistered',
    deleteProvisioningCode: 'delete',
    deleteExpiredProvisioningCodes: 'deleteExpired',
  },
  deviceAssignments: {
    getDeviceAssignment: 'get',
    putDeviceAssignment: 'put',
    listDeviceAssignments: 'list',
    deleteDeviceAssignment: 'delete',
  },
  audit: {
    appendAudit: 'append',
    listAudit: 'list',
  },
} as const satisfies { readonly [part: string]: { readonly [method in keyof ProvisionStore]?: string } };

type PartMethods = typeof partMethods;
type PartName = keyof PartMethods;
/** The store methods that a part answers. */
type DelegatedMethod = { [Part in PartName]: keyof PartMethods[Part] }[PartName];

/** How a backend's parts answer: at once (SQLite) or with a promise (Redis). */
type CallMode = 'sync' | 'async';

/** A result as a backend's parts give it. */
type Answer<Result, Mode extends CallMode> = Mode extends 'async' ? Promise<Result> : Result;

/** A part's method for a store method: the same arguments and the same result, given as Answer. */
type Answering<Method, Mode extends CallMode> = Method extends (...args: infer Args) => Promise<infer Result> ? (...args: Args) => Answer<Result, Mode> : never;

/** The parts a backend builds its store from: the methods partMethods names, and the audit log's oldest end. */
type StoreParts<Mode extends CallMode> = {
  readonly [Part in PartName]: {
    [Method in keyof PartMethods[Part] as PartMethods[Part][Method] & string]: Answering<ProvisionStore[Method & DelegatedMethod], Mode>;
  };
} & { readonly audit: { [Method in keyof AuditLogEnd]: Answering<AuditLogEnd[Method], Mode> } };

/** Runs one part call as a store call: the backend's own failure handling (its error codes, SQLite's group commit). */
type PartCallRunner<Mode extends CallMode> = <Result>(call: () => Answer<Result, Mode>) => Promise<Result>;

/** The members each backend writes itself, everything the parts do not answer. */
type BackendMethods = Omit<ProvisionStore, DelegatedMethod | 'deleteExpiredAudit'>;

/**
 * `call` measured in provisio_store_call_duration_seconds (metrics/metrics.ts) under its store
 * method's name: the label children are made here, once per method, so a call costs two clock reads.
 */
function timed<Args extends unknown[], Result>(method: string, call: (...args: Args) => Promise<Result>): (...args: Args) => Promise<Result> {
  const ok = storeCallDuration.labels(method, 'ok');
  const failed = storeCallDuration.labels(method, 'error');
  return async (...args) => {
    const started = performance.now();
    try {
      const result = await call(...args);
      ok.observe((performance.now() - started) / 1000);
      return result;
    } catch (error) {
      failed.observe((performance.now() - started) / 1000);
      throw error;
    }
  };
}

/** The backend's store: each method of partMethods run through `run`, deleteExpiredAudit on the audit part, and `own`. */
export function assembleStore<Mode extends CallMode>(parts: StoreParts<Mode>, run: PartCallRunner<Mode>, own: BackendMethods): ProvisionStore {
  // The casts stand for what StoreParts has already checked: each part has each method the table names.
  const delegated: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const [partName, methods] of Object.entries(partMethods)) {
    const part = parts[partName as PartName] as unknown as Record<string, (...args: unknown[]) => Answer<unknown, Mode>>;
    for (const [storeMethod, partMethod] of Object.entries(methods)) {
      delegated[storeMethod] = timed(storeMethod, (...args) => run(() => part[partMethod]!(...args)));
    }
  }
  const { audit } = parts;
  return {
    ...(delegated as unknown as Pick<ProvisionStore, DelegatedMethod>),
    deleteExpiredAudit: (expiry) =>
      deleteExpiredAuditEvents(
        {
          oldest: (limit) => run(() => audit.oldest(limit)),
          deleteThrough: (lastId, events) => run(() => audit.deleteThrough(lastId, events)),
        },
        expiry,
      ),
    ...own,
  };
}
