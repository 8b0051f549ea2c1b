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
import { loadStrings, pageFromIndex } from './index-paging.ts';
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

  list(filter: ProvisionRequestFilter = {}): Promise<Page<ProvisionRequest>> {
    const { redis, keys } = this.context;
    const clientIds = activeListFilter(filter.clientIds);
    const statuses = activeListFilter(filter.statuses);
    const jobStatuses = activeListFilter(filter.jobStatuses);
    const { category } = filter;
    const filtered = clientIds !== undefined || statuses !== undefined || jobStatuses !== undefined || category !== undefined;
    return pageFromIndex(
      redis,
      {
        index: filter.accountId === undefined ? keys.requests() : keys.accountRequests(filter.accountId),
        minScore: filter.startDate,
        maxScore: filter.endDate,
        load: (ids) =>
          loadStrings(
            redis,
            ids.map((id) => keys.request(id)),
          ),
        parse: requestFromJson,
        matches: filtered
          ? (request) =>
              (clientIds === undefined || clientIds.includes(request.clientId)) &&
              (statuses === undefined || statuses.includes(request.status)) &&
              (jobStatuses === undefined || jobStatuses.includes(request.jobStatus)) &&
              (category === undefined || request.category === category)
          : undefined,
      },
      pageWindow(filter),
    );
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
