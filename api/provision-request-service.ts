import type { PlatformConfig } from '../config/schema.ts';
import { PlatformError, toPlatformError } from '../errors/platform-error.ts';
import type { Logger } from '../log/logger.ts';
import { generateSecret, hashSecret } from '../store/secret-hash.ts';
import type { NewProvisionRequest, ProvisionRequest, ProvisionRequestPatch, ProvisionStore, RequestStatus } from '../store/types.ts';
import { ApiValidationError, invalid, type FieldError } from './problem.ts';
import { ReferenceChecker } from './reference-checker.ts';

/** What an operator asks for; every field but accountId and clientId has a default. Times in epoch ms. */
export interface ProvisionRequestInput {
  readonly accountId: string;
  readonly clientId: string;
  /** Default: the clientId. */
  readonly username?: string;
  /** Default: a generated 32-character secret. */
  readonly password?: string;
  readonly generateActivationKey?: boolean;
  /** Default: now. */
  readonly activatesOn?: number;
  /** Default: activatesOn + requestDefaultValidityDays. */
  readonly expiresOn?: number;
  readonly retryMaxAttempts?: number;
  readonly overwriteIfDuplicate?: boolean;
  readonly configurationId?: string | null;
  readonly bundleIds?: readonly string[];
  readonly status?: RequestStatus;
}

/** The device's credentials in clear: they exist only in the creation result. */
export interface ProvisionCredentials {
  readonly username: string;
  readonly password: string;
  readonly activationKey?: string;
}

export interface CreatedProvisionRequest {
  readonly request: ProvisionRequest;
  readonly credentials: ProvisionCredentials;
}

export interface CreateOptions {
  /** createdBy/modifiedBy and the audit actor: 'admin' or an API token id. */
  readonly actor: string;
  /** overwriteIfDuplicate may disable an ENABLED request of another account (admin only). */
  readonly mayOverwriteOtherAccounts?: boolean;
}

export type BatchItemResult =
  | { readonly ok: true; readonly index: number; readonly created: CreatedProvisionRequest }
  | { readonly ok: false; readonly index: number; readonly clientId: string; readonly error: PlatformError };

export interface ProvisionRequestChanges {
  readonly activatesOn?: number;
  readonly expiresOn?: number;
  readonly retryMaxAttempts?: number;
  /** Replaces the password (stored hashed). */
  readonly password?: string;
  readonly configurationId?: string | null;
  readonly bundleIds?: readonly string[];
  readonly status?: RequestStatus;
}

const dayMs = 24 * 60 * 60 * 1000;
/** Items of a batch in flight at once: enough to keep libuv's scrypt threads and the store busy. */
const batchConcurrency = 256;

/**
 * Creates and changes provision requests: defaults, generated secrets (stored only as scrypt
 * hashes), reference checks, overwriteIfDuplicate and an audit event for every change.
 * Authorization is the caller's business, except `mayOverwriteOtherAccounts`.
 */
export class ProvisionRequestService {
  private readonly store: ProvisionStore;
  private readonly config: Pick<PlatformConfig, 'requestDefaultValidityDays'>;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(deps: { store: ProvisionStore; config: Pick<PlatformConfig, 'requestDefaultValidityDays'>; log: Logger; now?: () => number }) {
    this.store = deps.store;
    this.config = deps.config;
    this.log = deps.log;
    this.now = deps.now ?? Date.now;
  }

  async create(input: ProvisionRequestInput, options: CreateOptions): Promise<CreatedProvisionRequest> {
    return this.createOne(input, options, new ReferenceChecker(this.store), 'body', false);
  }

  /**
   * Creates many requests; each item succeeds or fails on its own (results in input order).
   * A clientId named twice makes the whole batch invalid, since the outcome would depend on timing.
   */
  async createMany(inputs: readonly ProvisionRequestInput[], options: CreateOptions): Promise<BatchItemResult[]> {
    const duplicates: FieldError[] = [];
    const seen = new Set<string>();
    inputs.forEach((input, index) => {
      if (seen.has(input.clientId)) duplicates.push({ path: `body/requests/${index}/clientId`, message: 'appears more than once in the batch' });
      seen.add(input.clientId);
    });
    if (duplicates.length > 0) throw new ApiValidationError(duplicates);

    const references = new ReferenceChecker(this.store);
    const results: BatchItemResult[] = [];
    for (let start = 0; start < inputs.length; start += batchConcurrency) {
      const chunk = inputs.slice(start, start + batchConcurrency);
      const settled = await Promise.all(
        chunk.map(async (input, offset): Promise<BatchItemResult> => {
          const index = start + offset;
          try {
            const created = await this.createOne(input, options, references, `body/requests/${index}`, true);
            return { ok: true, index, created };
          } catch (error) {
            return { ok: false, index, clientId: input.clientId, error: toPlatformError(error, this.log, 'batch item failed') };
          }
        }),
      );
      results.push(...settled);
    }
    return results;
  }

  async update(id: string, expectedVersion: number, changes: ProvisionRequestChanges, actor: string): Promise<ProvisionRequest> {
    const current = await this.store.getProvisionRequest(id);
    if (!current) throw new PlatformError('NOT_FOUND', { detail: 'no such provision request' });
    const activatesOn = changes.activatesOn ?? current.activatesOn;
    const expiresOn = changes.expiresOn ?? current.expiresOn;
    if (expiresOn <= activatesOn) throw invalid('body/expiresOn', 'must be after activatesOn');
    await new ReferenceChecker(this.store).check('body', {
      accountId: current.accountId,
      accountMustExist: false,
      ...(changes.configurationId !== undefined ? { configurationId: changes.configurationId } : {}),
      ...(changes.bundleIds !== undefined ? { bundleIds: changes.bundleIds } : {}),
    });
    const { password, ...plain } = changes;
    const patch: ProvisionRequestPatch = {
      ...plain,
      ...(password !== undefined ? { passwordHash: await hashSecret(password) } : {}),
      modifiedBy: actor,
    };
    const updated = await this.store.updateProvisionRequest(id, expectedVersion, patch);
    await this.audit('request.updated', actor, updated, { fields: Object.keys(changes).sort() });
    return updated;
  }

  /** Enables or disables; re-reads and retries when a concurrent change bumped the version. */
  async setStatus(id: string, status: RequestStatus, actor: string): Promise<ProvisionRequest> {
    for (let attempt = 1; ; attempt += 1) {
      const current = await this.store.getProvisionRequest(id);
      if (!current) throw new PlatformError('NOT_FOUND', { detail: 'no such provision request' });
      if (current.status === status) return current;
      try {
        const updated = await this.store.updateProvisionRequest(id, current.version, { status, modifiedBy: actor });
        await this.audit(status === 'ENABLED' ? 'request.enabled' : 'request.disabled', actor, updated, {});
        return updated;
      } catch (error) {
        if (!(error instanceof PlatformError && error.code === 'VERSION_CONFLICT') || attempt >= 3) throw error;
      }
    }
  }

  async delete(id: string, actor: string): Promise<void> {
    const current = await this.store.getProvisionRequest(id);
    if (!current) throw new PlatformError('NOT_FOUND', { detail: 'no such provision request' });
    await this.store.deleteProvisionRequest(id);
    await this.audit('request.deleted', actor, current, {});
  }

  private async createOne(
    input: ProvisionRequestInput,
    options: CreateOptions,
    references: ReferenceChecker,
    path: string,
    inBatch: boolean,
  ): Promise<CreatedProvisionRequest> {
    const activatesOn = input.activatesOn ?? this.now();
    const expiresOn = input.expiresOn ?? activatesOn + this.config.requestDefaultValidityDays * dayMs;
    if (expiresOn <= activatesOn) throw invalid(`${path}/expiresOn`, 'must be after activatesOn');
    await references.check(path, input);

    const username = input.username ?? input.clientId;
    const password = input.password ?? generateSecret(32);
    const activationKey = input.generateActivationKey ? generateSecret(32) : undefined;
    const [passwordHash, activationKeyHash] = await Promise.all([
      hashSecret(password, input.password === undefined ? 'generated' : 'chosen'),
      activationKey === undefined ? null : hashSecret(activationKey, 'generated'),
    ]);
    const record: NewProvisionRequest = {
      accountId: input.accountId,
      clientId: input.clientId,
      username,
      passwordHash,
      activationKeyHash,
      activatesOn,
      expiresOn,
      retryMaxAttempts: input.retryMaxAttempts ?? 5,
      overwriteIfDuplicate: input.overwriteIfDuplicate ?? false,
      status: input.status ?? 'ENABLED',
      configurationId: input.configurationId ?? null,
      bundleIds: [...(input.bundleIds ?? [])],
      createdBy: options.actor,
    };
    const { request, replacedId } = await this.insert(record, options);
    await this.audit('request.created', options.actor, request, {
      username,
      status: request.status,
      hasActivationKey: activationKey !== undefined,
      ...(replacedId ? { replacedRequestId: replacedId } : {}),
      ...(inBatch ? { batch: true } : {}),
    });
    return { request, credentials: { username, password, ...(activationKey ? { activationKey } : {}) } };
  }

  /** Plain create, or with overwriteIfDuplicate: replace this account's request and disable another account's. */
  private async insert(record: NewProvisionRequest, options: CreateOptions): Promise<{ request: ProvisionRequest; replacedId?: string }> {
    if (!record.overwriteIfDuplicate) return { request: await this.store.createProvisionRequest(record) };
    if (record.status === 'ENABLED') {
      const enabled = await this.store.findEnabledProvisionRequest(record.clientId);
      if (enabled && enabled.accountId !== record.accountId) {
        if (!options.mayOverwriteOtherAccounts) {
          throw new PlatformError('DUPLICATE', { detail: 'the clientId has an ENABLED request in another account' });
        }
        const disabled = await this.store.updateProvisionRequest(enabled.id, enabled.version, { status: 'DISABLED', modifiedBy: options.actor });
        await this.audit('request.disabled', options.actor, disabled, { reason: 'overwritten by a new request of another account' });
      }
    }
    const existing = await this.store.listProvisionRequests({ accountId: record.accountId, clientIds: [record.clientId], limit: 1 });
    const previous = existing.items[0];
    if (!previous) return { request: await this.store.createProvisionRequest(record) };
    return { request: await this.store.replaceProvisionRequest(previous.id, record), replacedId: previous.id };
  }

  private async audit(type: string, actor: string, request: ProvisionRequest, detail: Record<string, unknown>): Promise<void> {
    await this.store.appendAudit({
      type,
      outcome: 'success',
      actor,
      accountId: request.accountId,
      clientId: request.clientId,
      provisionRequestId: request.id,
      detail,
    });
  }
}
