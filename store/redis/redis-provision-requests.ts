import { PlatformError } from '../../errors/platform-error.ts';
import { activeListFilter, buildAuditEvent, buildProvisionRequest, deviceFacts, pageWindow, patchProvisionRequest, refusal } from '../records.ts';
import type {
  CreateProvisionRequestsOptions,
  NewProvisionRequest,
  Page,
  ProvisionRequest,
  ProvisionRequestCreation,
  ProvisionRequestFilter,
  ProvisionRequestPatch,
} from '../types.ts';
import { clientIdIndexesReady } from './client-id-index.ts';
import { loadStrings, pageFromIndex, pageOfRecords } from './index-paging.ts';
import { storeErrorFromRedis } from './redis-connection.ts';
import { flag, parseRecord, type RedisContext } from './redis-context.ts';
import {
  createRequestScript,
  createRequestsCommand,
  createRequestsLua,
  deleteRequestScript,
  replaceRequestScript,
  updateRequestScript,
} from './request-scripts.ts';
import { retry, retryWhileChanged } from './script-runner.ts';

/** Items per createRequestsCommand call: big enough to save round trips, small enough not to stall Redis. */
const createChunkSize = 100;

/**
 * A stored request (its JSON, as the scripts write it whole). Requests stored before device facts
 * were recorded have none: all null, as for a request without an attempt. Those stored before
 * categories have neither category nor tags: none.
 */
function requestFromJson(json: string): ProvisionRequest {
  const request = parseRecord<ProvisionRequest>(json);
  return { ...request, category: request.category ?? null, tags: request.tags ?? [], device: deviceFacts(request.device ?? {}) };
}

/** Keys per MGET when a listing names many clientIds: no single command grows with the filter. */
const loadChunkSize = 1000;

async function loadInChunks(redis: RedisContext['redis'], keys: readonly string[]): Promise<(string | null)[]> {
  const chunks: Promise<(string | null)[]>[] = [];
  for (let start = 0; start < keys.length; start += loadChunkSize) chunks.push(loadStrings(redis, keys.slice(start, start + loadChunkSize)));
  return (await Promise.all(chunks)).flat();
}

type CreateRequestsCall = (keyCount: number, ...keysAndArgs: (string | number)[]) => Promise<unknown>;

export class RedisProvisionRequests {
  private readonly createRequests: CreateRequestsCall;

  constructor(private readonly context: RedisContext) {
    // No numberOfKeys: the key count is the first argument, since it varies with the chunk.
    context.redis.defineCommand(createRequestsCommand, { lua: createRequestsLua });
    const command = (context.redis as unknown as Record<string, CreateRequestsCall>)[createRequestsCommand]!;
    this.createRequests = (...args) => command.call(context.redis, ...args);
  }

  async create(input: NewProvisionRequest): Promise<ProvisionRequest> {
    const { keys, scripts } = this.context;
    const request = buildProvisionRequest(input, Date.now());
    await scripts.run(
      createRequestScript,
      [
        keys.request(request.id),
        keys.requestOfClient(request.accountId, request.clientId),
        keys.enabledRequest(request.clientId),
        keys.account(request.accountId),
        keys.requests(),
        keys.accountRequests(request.accountId),
        keys.clientAccounts(request.clientId),
      ],
      [request.id, JSON.stringify(request), request.createdOn, flag(request.status === 'ENABLED'), request.accountId],
    );
    return request;
  }

  /**
   * create() for each item in input order, one script per chunk of 100; the chunks are sent at
   * once and Redis runs them in the order sent. A chunk Redis did not run answers its items with
   * the error (STORE_UNAVAILABLE).
   */
  async createMany(inputs: readonly NewProvisionRequest[], options: CreateProvisionRequestsOptions): Promise<ProvisionRequestCreation[]> {
    const chunks: Promise<ProvisionRequestCreation[]>[] = [];
    for (let start = 0; start < inputs.length; start += createChunkSize) {
      chunks.push(this.createChunk(inputs.slice(start, start + createChunkSize), start, options));
    }
    return (await Promise.all(chunks)).flat();
  }

  private async createChunk(
    inputs: readonly NewProvisionRequest[],
    firstIndex: number,
    options: CreateProvisionRequestsOptions,
  ): Promise<ProvisionRequestCreation[]> {
    const { keys } = this.context;
    const requests = inputs.map((input) => buildProvisionRequest(input, Date.now()));
    const itemKeys: string[] = [];
    const itemArgs: (string | number)[] = [];
    requests.forEach((request, offset) => {
      const audit = options.auditEvent ? JSON.stringify(buildAuditEvent(options.auditEvent(request, firstIndex + offset), Date.now())) : '';
      itemKeys.push(
        keys.request(request.id),
        keys.requestOfClient(request.accountId, request.clientId),
        keys.enabledRequest(request.clientId),
        keys.account(request.accountId),
        keys.accountRequests(request.accountId),
        keys.clientAccounts(request.clientId),
      );
      itemArgs.push(request.id, JSON.stringify(request), request.createdOn, flag(request.status === 'ENABLED'), audit, request.accountId);
    });
    const sharedKeys = [keys.requests(), keys.auditSequence(), keys.auditEvents(), keys.auditIds()];
    let outcomes: unknown;
    try {
      outcomes = await this.createRequests(sharedKeys.length + itemKeys.length, ...sharedKeys, ...itemKeys, ...itemArgs);
    } catch (error) {
      const mapped = storeErrorFromRedis(error);
      if (!(mapped instanceof PlatformError)) throw mapped;
      return requests.map(() => ({ ok: false, error: mapped }));
    }
    if (!Array.isArray(outcomes) || outcomes.length !== requests.length) throw new Error(`${createRequestsCommand} answered ${String(outcomes)}`);
    return requests.map((request, offset): ProvisionRequestCreation => {
      const outcome = String(outcomes[offset]);
      if (outcome === 'OK') return { ok: true, request };
      const [code, refusalName = ''] = outcome.split(':');
      if (code !== 'DUPLICATE' && code !== 'NOT_FOUND') throw new Error(`${createRequestsCommand} answered ${outcome}`);
      const detail = refusalName in refusal ? refusal[refusalName as keyof typeof refusal] : refusalName;
      return { ok: false, error: new PlatformError(code, { detail }) };
    });
  }

  async get(id: string): Promise<ProvisionRequest | null> {
    const json = await this.context.redis.get(this.context.keys.request(id));
    return json ? requestFromJson(json) : null;
  }

  async findEnabled(clientId: string): Promise<ProvisionRequest | null> {
    const id = await this.context.redis.get(this.context.keys.enabledRequest(clientId));
    const request = id ? await this.get(id) : null;
    // The request may have been disabled between the two reads.
    return request?.status === 'ENABLED' && request.clientId === clientId ? request : null;
  }

  /**
   * Filtered by clientIds, the listing reads those clients' requests through their keys
   * (request-of-client:{accountId}:{clientId}, and without an account client-accounts:{clientId})
   * instead of every request of the store or account: what a birth, a completion and a
   * provisioning attempt ask about their one device. The answer is the one the index listing
   * would give (same order, total and window).
   */
  async list(filter: ProvisionRequestFilter = {}): Promise<Page<ProvisionRequest>> {
    const { redis, keys } = this.context;
    const clientIds = activeListFilter(filter.clientIds);
    const statuses = activeListFilter(filter.statuses);
    const jobStatuses = activeListFilter(filter.jobStatuses);
    const { accountId, category, startDate, endDate } = filter;
    const matches = (request: ProvisionRequest) =>
      (accountId === undefined || request.accountId === accountId) &&
      (clientIds === undefined || clientIds.includes(request.clientId)) &&
      (statuses === undefined || statuses.includes(request.status)) &&
      (jobStatuses === undefined || jobStatuses.includes(request.jobStatus)) &&
      (category === undefined || request.category === category) &&
      (startDate === undefined || request.createdOn >= startDate) &&
      (endDate === undefined || request.createdOn <= endDate);
    if (clientIds !== undefined) {
      const requests = await this.ofClients(clientIds, accountId);
      return pageOfRecords(requests, matches, (request) => ({ score: request.createdOn, member: request.id }), pageWindow(filter));
    }
    const filtered = statuses !== undefined || jobStatuses !== undefined || category !== undefined;
    return pageFromIndex(
      redis,
      {
        index: accountId === undefined ? keys.requests() : keys.accountRequests(accountId),
        minScore: startDate,
        maxScore: endDate,
        load: (ids) =>
          loadStrings(
            redis,
            ids.map((id) => keys.request(id)),
          ),
        parse: requestFromJson,
        matches: filtered ? matches : undefined,
      },
      pageWindow(filter),
    );
  }

  /**
   * The requests of these clientIds (in one account, or in every account that ever had one:
   * client-accounts, built first in a store written before it existed), in no order.
   */
  private async ofClients(clientIds: readonly string[], accountId: string | undefined): Promise<ProvisionRequest[]> {
    const { redis, keys } = this.context;
    const wanted = [...new Set(clientIds)];
    let pairs: { readonly accountId: string; readonly clientId: string }[];
    if (accountId !== undefined) {
      pairs = wanted.map((clientId) => ({ accountId, clientId }));
    } else {
      await clientIdIndexesReady(this.context);
      const reads = redis.pipeline();
      for (const clientId of wanted) reads.smembers(keys.clientAccounts(clientId));
      const accountSets = ((await reads.exec()) ?? []).map(([error, members]) => {
        if (error) throw error;
        return members as string[];
      });
      pairs = wanted.flatMap((clientId, index) => accountSets[index]!.map((holder) => ({ accountId: holder, clientId })));
    }
    const ids = await loadInChunks(
      redis,
      pairs.map((pair) => keys.requestOfClient(pair.accountId, pair.clientId)),
    );
    const records = await loadInChunks(
      redis,
      [...new Set(ids.filter((id): id is string => id !== null))].map((id) => keys.request(id)),
    );
    return records.flatMap((json) => (json ? [requestFromJson(json)] : []));
  }

  async update(id: string, expectedVersion: number, patch: ProvisionRequestPatch): Promise<ProvisionRequest> {
    const { keys, scripts } = this.context;
    const current = await this.get(id);
    if (!current) throw new PlatformError('NOT_FOUND', { detail: refusal.requestNotFound });
    if (current.version !== expectedVersion) throw new PlatformError('VERSION_CONFLICT', { detail: refusal.staleVersion });
    const next = patchProvisionRequest(current, patch, Date.now());
    // The script checks the version again, so the old keys computed from `current` are still right when it writes.
    await scripts.run(
      updateRequestScript,
      [
        keys.request(id),
        keys.requestOfClient(current.accountId, current.clientId),
        keys.requestOfClient(next.accountId, next.clientId),
        keys.enabledRequest(current.clientId),
        keys.enabledRequest(next.clientId),
        keys.clientAccounts(next.clientId),
      ],
      [id, expectedVersion, JSON.stringify(next), flag(current.status === 'ENABLED'), flag(next.status === 'ENABLED'), next.accountId],
    );
    return next;
  }

  async delete(id: string): Promise<void> {
    const { keys, scripts } = this.context;
    await retryWhileChanged(async () => {
      const current = await this.get(id);
      if (!current) throw new PlatformError('NOT_FOUND', { detail: refusal.requestNotFound });
      const { outcome } = await scripts.run(
        deleteRequestScript,
        [
          keys.request(id),
          keys.requestOfClient(current.accountId, current.clientId),
          keys.enabledRequest(current.clientId),
          keys.requests(),
          keys.accountRequests(current.accountId),
        ],
        [id, current.version],
      );
      return outcome === 'RETRY' ? retry : undefined;
    });
  }

  async replace(existingId: string, input: NewProvisionRequest): Promise<ProvisionRequest> {
    const { keys, scripts } = this.context;
    const request = buildProvisionRequest(input, Date.now());
    return retryWhileChanged(async () => {
      const old = await this.get(existingId);
      if (!old) throw new PlatformError('NOT_FOUND', { detail: refusal.requestNotFound });
      const { outcome } = await scripts.run(
        replaceRequestScript,
        [
          keys.request(old.id),
          keys.requestOfClient(old.accountId, old.clientId),
          keys.enabledRequest(old.clientId),
          keys.accountRequests(old.accountId),
          keys.request(request.id),
          keys.requestOfClient(request.accountId, request.clientId),
          keys.enabledRequest(request.clientId),
          keys.account(request.accountId),
          keys.requests(),
          keys.accountRequests(request.accountId),
          keys.clientAccounts(request.clientId),
        ],
        [old.id, old.version, request.id, JSON.stringify(request), request.createdOn, flag(request.status === 'ENABLED'), request.accountId],
      );
      return outcome === 'RETRY' ? retry : request;
    });
  }
}
