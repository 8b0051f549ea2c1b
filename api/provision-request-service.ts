import type { SessionEnder } from '../cluster/session-end-notice.ts';
import type { PlatformConfig } from '../config/schema.ts';
import { PlatformError, toPlatformError } from '../errors/platform-error.ts';
import type { Logger } from '../log/logger.ts';
import { generateSecret, hashSecret } from '../crypto/secret-hash.ts';
import type {
  NewAuditEvent,
  NewProvisionRequest,
  ProvisionRequest,
  ProvisionRequestCreation,
  ProvisionRequestPatch,
  ProvisionStore,
  RequestStatus,
} from '../store/types.ts';
import { checkMayEnable, clientIdInUse, refusedClaims, type Claimant } from './client-id-ownership.ts';
import { checkEveryItem, checkWholeBatch } from './provision-request-batch-checks.ts';
import { invalid } from './problem.ts';
import type {
  BatchItemResult,
  CreatedProvisionRequest,
  CreateOptions,
  ProvisionCredentials,
  ProvisionRequestChanges,
  ProvisionRequestInput,
} from './provision-request-types.ts';
import { ReferenceChecker } from './reference-checker.ts';

/** A new request checked, with its secrets hashed, ready to store. */
interface PreparedRequest {
  readonly record: NewProvisionRequest;
  readonly credentials: ProvisionCredentials;
}

const dayMs = 24 * 60 * 60 * 1000;

function claimant(options: CreateOptions): Claimant {
  return { actor: options.actor, admin: options.mayOverwriteOtherAccounts === true };
}

/** What the caller is told of a failed creation: an account token gets one answer for every DUPLICATE. */
function answerFor(error: unknown, options: CreateOptions): unknown {
  if (options.mayOverwriteOtherAccounts || !(error instanceof PlatformError) || error.code !== 'DUPLICATE') return error;
  return clientIdInUse();
}

/** Items of a batch prepared at once: enough to keep libuv's scrypt threads busy with chosen passwords. */
const batchConcurrency = 256;

/**
 * Creates and changes provision requests: defaults, generated secrets (stored only as
 * hashes), reference checks, overwriteIfDuplicate and an audit event for every change.
 * Authorization is the caller's business, except who may claim a clientId (api/client-id-ownership.ts).
 */
export class ProvisionRequestService {
  private readonly store: ProvisionStore;
  private readonly config: Pick<PlatformConfig, 'requestDefaultValidityDays'>;
  private readonly log: Logger;
  private readonly now: () => number;
  /**
   * Ends the provision-broker session opened with a request that stopped opening it (disabled,
   * deleted, new credentials, displaced by overwriteIfDuplicate). Here, where the admin's changes
   * are made, and not in the store: the provisioner disables a request on completion right before
   * it answers the device on that very session.
   */
  private readonly sessions: SessionEnder | undefined;

  constructor(deps: {
    store: ProvisionStore;
    config: Pick<PlatformConfig, 'requestDefaultValidityDays'>;
    log: Logger;
    now?: () => number;
    sessions?: SessionEnder;
  }) {
    this.store = deps.store;
    this.config = deps.config;
    this.log = deps.log;
    this.now = deps.now ?? Date.now;
    this.sessions = deps.sessions;
  }

  /** A request that stopped opening the provision broker: its live session, if any, ends too (issue 20 §1). */
  private async endSessionOf(request: ProvisionRequest, cause: 'disabled' | 'deleted'): Promise<void> {
    await this.sessions?.endSessions({ kind: 'provision-request', clientId: request.clientId, provisionRequestId: request.id, cause });
  }

  async create(input: ProvisionRequestInput, options: CreateOptions): Promise<CreatedProvisionRequest> {
    const refusal = (await refusedClaims(this.store, [input], claimant(options))).get(0);
    if (refusal) throw refusal;
    const prepared = await this.prepare(input, options, new ReferenceChecker(this.store), 'body');
    try {
      return await this.storeOne(prepared, options, false);
    } catch (error) {
      throw answerFor(error, options);
    }
  }

  /**
   * Creates many requests; each item succeeds or fails on its own (results in input order).
   * A clientId named twice, or a category its account lacks, makes the whole batch invalid (api/provision-request-batch-checks.ts).
   * Items are checked and their secrets hashed first, then the plain ones are stored in one
   * store call (one transaction with their audit events); overwriteIfDuplicate items, which
   * may replace or disable other requests, go one by one as create() does.
   */
  async createMany(inputs: readonly ProvisionRequestInput[], options: CreateOptions): Promise<BatchItemResult[]> {
    const references = new ReferenceChecker(this.store);
    await checkWholeBatch(inputs, references);
    return this.createChecked(inputs, options, references);
  }

  /**
   * Creates many requests, or none (a CSV import): every item is checked first (api/provision-request-batch-checks.ts
   * checkEveryItem) and one bad item is a 400 naming it, with nothing created. Then as createMany.
   */
  async createAllOrNothing(inputs: readonly ProvisionRequestInput[], options: CreateOptions): Promise<BatchItemResult[]> {
    const references = new ReferenceChecker(this.store);
    await checkWholeBatch(inputs, references);
    await checkEveryItem(inputs, {
      store: this.store,
      claimant: claimant(options),
      references,
      checkWindow: (input, prefix) => void this.activationWindow(input, prefix),
    });
    return this.createChecked(inputs, options, references);
  }

  /** createMany after its whole-batch checks. */
  private async createChecked(inputs: readonly ProvisionRequestInput[], options: CreateOptions, references: ReferenceChecker): Promise<BatchItemResult[]> {
    const refusals = await refusedClaims(this.store, inputs, claimant(options));
    const results: BatchItemResult[] = new Array(inputs.length);
    const plain: { readonly index: number; readonly prepared: PreparedRequest }[] = [];
    for (let start = 0; start < inputs.length; start += batchConcurrency) {
      const chunk = inputs.slice(start, start + batchConcurrency);
      await Promise.all(
        chunk.map(async (input, offset) => {
          const index = start + offset;
          const refusal = refusals.get(index);
          if (refusal) {
            results[index] = this.failedItem(index, input.clientId, refusal);
            return;
          }
          try {
            const prepared = await this.prepare(input, options, references, `body/requests/${index}`);
            if (!prepared.record.overwriteIfDuplicate) plain.push({ index, prepared });
            else results[index] = { ok: true, index, created: await this.storeOne(prepared, options, true) };
          } catch (error) {
            results[index] = this.failedItem(index, input.clientId, answerFor(error, options));
          }
        }),
      );
    }
    plain.sort((a, b) => a.index - b.index);
    for (const [i, creation] of (
      await this.storeMany(
        plain.map((item) => item.prepared),
        options,
      )
    ).entries()) {
      const { index, prepared } = plain[i]!;
      results[index] = creation.ok
        ? { ok: true, index, created: { request: creation.request, credentials: prepared.credentials } }
        : this.failedItem(index, prepared.record.clientId, answerFor(creation.error, options));
    }
    return results;
  }

  async update(id: string, expectedVersion: number, changes: ProvisionRequestChanges, actor: string): Promise<ProvisionRequest> {
    const current = await this.store.getProvisionRequest(id);
    if (!current) throw new PlatformError('NOT_FOUND', { detail: 'no such provision request' });
    const activatesOn = changes.activatesOn ?? current.activatesOn;
    const expiresOn = changes.expiresOn ?? current.expiresOn;
    if (expiresOn <= activatesOn) throw invalid('body/expiresOn', 'must be after activatesOn');
    if (changes.status === 'ENABLED' && current.status !== 'ENABLED') await checkMayEnable(this.store, current);
    await new ReferenceChecker(this.store).check('body', {
      accountId: current.accountId,
      accountMustExist: false,
      ...(changes.configurationId !== undefined ? { configurationId: changes.configurationId } : {}),
      ...(changes.bundleIds !== undefined ? { bundleIds: changes.bundleIds } : {}),
      ...(changes.category !== undefined ? { category: changes.category } : {}),
    });
    const { password, ...plain } = changes;
    const patch: ProvisionRequestPatch = {
      ...plain,
      ...(password !== undefined ? { passwordHash: await hashSecret(password) } : {}),
      modifiedBy: actor,
    };
    const updated = await this.store.updateProvisionRequest(id, expectedVersion, patch);
    await this.audit('request.updated', actor, updated, { fields: Object.keys(changes).sort() });
    // Disabled, or new credentials: a session opened with the old ones must not go on.
    if (changes.status === 'DISABLED' || 'password' in changes || 'username' in changes) await this.endSessionOf(updated, 'disabled');
    return updated;
  }

  /** Enables or disables; re-reads and retries when a concurrent change bumped the version. */
  async setStatus(id: string, status: RequestStatus, actor: string): Promise<ProvisionRequest> {
    for (let attempt = 1; ; attempt += 1) {
      const current = await this.store.getProvisionRequest(id);
      if (!current) throw new PlatformError('NOT_FOUND', { detail: 'no such provision request' });
      if (status === 'ENABLED') {
        if (current.status === status) return current;
        await checkMayEnable(this.store, current);
      }
      try {
        const updated = current.status === status ? current : await this.store.updateProvisionRequest(id, current.version, { status, modifiedBy: actor });
        if (updated !== current) await this.audit(status === 'ENABLED' ? 'request.enabled' : 'request.disabled', actor, updated, {});
        if (status === 'DISABLED') await this.endSessionOf(updated, 'disabled');
        return updated;
      } catch (error) {
        if (!(error instanceof PlatformError && error.code === 'VERSION_CONFLICT') || attempt >= 3) throw error;
      }
    }
  }

  /**
   * The expired-certificate path (PROTOCOL.md, CERT-V1 "Expired certificate"): a request the
   * device used up (COMPLETED) or ran out of attempts on (FAILED) opens the provision broker
   * again with the same credentials, its attempts counted from zero, so that the device provisions
   * as on first boot. A request whose expiresOn has passed, or comes within the default validity,
   * is given that validity from now. The attempt and certificate of the last provisioning are
   * forgotten here; the device's older certificates are revoked when it completes, as on any
   * re-provisioning. Re-reads and retries when a concurrent change bumped the version.
   */
  async reprovision(id: string, actor: string): Promise<ProvisionRequest> {
    for (let attempt = 1; ; attempt += 1) {
      const current = await this.store.getProvisionRequest(id);
      if (!current) throw new PlatformError('NOT_FOUND', { detail: 'no such provision request' });
      if (current.jobStatus !== 'COMPLETED' && current.jobStatus !== 'FAILED') {
        throw new PlatformError('REQUEST_WRONG_STATE', { detail: `job is ${current.jobStatus}: only a COMPLETED or FAILED request is provisioned again` });
      }
      await checkMayEnable(this.store, current);
      const now = this.now();
      const expiresOn = Math.max(current.expiresOn, now + this.config.requestDefaultValidityDays * dayMs);
      try {
        const updated = await this.store.updateProvisionRequest(id, current.version, {
          status: 'ENABLED',
          jobStatus: 'CREATED',
          retryCount: 0,
          currentRequestId: null,
          certificateSerial: null,
          activatesOn: Math.min(current.activatesOn, now),
          expiresOn,
          modifiedBy: actor,
        });
        await this.audit('request.reprovision', actor, updated, {
          previousJobStatus: current.jobStatus,
          previousRetryCount: current.retryCount,
          expiresOn: new Date(expiresOn).toISOString(),
        });
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
    await this.endSessionOf(current, 'deleted');
  }

  /** Defaults, checks and secrets of one new request: everything but storing it. */
  private async prepare(input: ProvisionRequestInput, options: CreateOptions, references: ReferenceChecker, path: string): Promise<PreparedRequest> {
    const { activatesOn, expiresOn } = this.activationWindow(input, path);
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
      category: input.category ?? null,
      tags: [...(input.tags ?? [])],
      createdBy: options.actor,
    };
    return { record, credentials: { username, password, ...(activationKey ? { activationKey } : {}) } };
  }

  /** When a new request opens and closes: the given times or their defaults; expiresOn must come after activatesOn. */
  private activationWindow(input: Pick<ProvisionRequestInput, 'activatesOn' | 'expiresOn'>, path: string): { activatesOn: number; expiresOn: number } {
    const activatesOn = input.activatesOn ?? this.now();
    const expiresOn = input.expiresOn ?? activatesOn + this.config.requestDefaultValidityDays * dayMs;
    if (expiresOn <= activatesOn) throw invalid(`${path}/expiresOn`, 'must be after activatesOn');
    return { activatesOn, expiresOn };
  }

  /** Stores one prepared request (replacing as overwriteIfDuplicate asks) and audits it. */
  private async storeOne(prepared: PreparedRequest, options: CreateOptions, inBatch: boolean): Promise<CreatedProvisionRequest> {
    const { request, replacedId } = await this.insert(prepared.record, options);
    await this.store.appendAudit(this.createdEvent(options.actor, request, prepared, replacedId, inBatch));
    return { request, credentials: prepared.credentials };
  }

  /** Stores plain (not overwriteIfDuplicate) requests with their audit events in one store call. */
  private async storeMany(batch: readonly PreparedRequest[], options: CreateOptions): Promise<ProvisionRequestCreation[]> {
    if (batch.length === 0) return [];
    try {
      return await this.store.createProvisionRequests(
        batch.map((prepared) => prepared.record),
        { auditEvent: (request, i) => this.createdEvent(options.actor, request, batch[i]!, undefined, true) },
      );
    } catch (error) {
      // The write failed as a whole (SQLite kept none of it): every item fails with that error, as each would alone.
      const failure = toPlatformError(error, this.log, 'batch failed');
      return batch.map(() => ({ ok: false, error: failure }));
    }
  }

  private failedItem(index: number, clientId: string, error: unknown): BatchItemResult {
    return { ok: false, index, clientId, error: toPlatformError(error, this.log, 'batch item failed') };
  }

  private createdEvent(actor: string, request: ProvisionRequest, prepared: PreparedRequest, replacedId: string | undefined, inBatch: boolean): NewAuditEvent {
    return this.auditEvent('request.created', actor, request, {
      username: prepared.credentials.username,
      status: request.status,
      hasActivationKey: prepared.credentials.activationKey !== undefined,
      ...(replacedId ? { replacedRequestId: replacedId } : {}),
      ...(inBatch ? { batch: true } : {}),
    });
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
        await this.endSessionOf(disabled, 'disabled');
      }
    }
    const existing = await this.store.listProvisionRequests({ accountId: record.accountId, clientIds: [record.clientId], limit: 1 });
    const previous = existing.items[0];
    if (!previous) return { request: await this.store.createProvisionRequest(record) };
    const replaced = await this.store.replaceProvisionRequest(previous.id, record);
    // The old credentials no longer open the broker: a device connected with them is ended.
    await this.endSessionOf(previous, 'deleted');
    return { request: replaced, replacedId: previous.id };
  }

  private async audit(type: string, actor: string, request: ProvisionRequest, detail: Record<string, unknown>): Promise<void> {
    await this.store.appendAudit(this.auditEvent(type, actor, request, detail));
  }

  private auditEvent(type: string, actor: string, request: ProvisionRequest, detail: Record<string, unknown>): NewAuditEvent {
    return {
      type,
      outcome: 'success',
      actor,
      accountId: request.accountId,
      clientId: request.clientId,
      provisionRequestId: request.id,
      detail,
    };
  }
}
