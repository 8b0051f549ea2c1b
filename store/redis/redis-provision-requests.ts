import { PlatformError } from '../../errors/platform-error.ts';
import { activeListFilter, buildProvisionRequest, pageWindow, patchProvisionRequest, refusal } from '../records.ts';
import type { NewProvisionRequest, Page, ProvisionRequest, ProvisionRequestFilter, ProvisionRequestPatch } from '../types.ts';
import { loadStrings, pageFromIndex } from './index-paging.ts';
import { flag, parseRecord, type RedisContext } from './redis-context.ts';
import { createRequestScript, deleteRequestScript, replaceRequestScript, updateRequestScript } from './request-scripts.ts';
import { retry, retryWhileChanged } from './script-runner.ts';

export class RedisProvisionRequests {
  constructor(private readonly context: RedisContext) {}

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
      ],
      [request.id, JSON.stringify(request), request.createdOn, flag(request.status === 'ENABLED')],
    );
    return request;
  }

  async get(id: string): Promise<ProvisionRequest | null> {
    const json = await this.context.redis.get(this.context.keys.request(id));
    return json ? parseRecord<ProvisionRequest>(json) : null;
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
    const filtered = clientIds !== undefined || statuses !== undefined || jobStatuses !== undefined;
    return pageFromIndex(
      redis,
      {
        index: filter.accountId === undefined ? keys.requests() : keys.accountRequests(filter.accountId),
        minScore: filter.startDate,
        maxScore: filter.endDate,
        load: (ids) => loadStrings(redis, ids.map((id) => keys.request(id))),
        parse: (json) => parseRecord<ProvisionRequest>(json),
        matches: filtered
          ? (request) =>
              (clientIds === undefined || clientIds.includes(request.clientId)) &&
              (statuses === undefined || statuses.includes(request.status)) &&
              (jobStatuses === undefined || jobStatuses.includes(request.jobStatus))
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
      ],
      [id, expectedVersion, JSON.stringify(next), flag(current.status === 'ENABLED'), flag(next.status === 'ENABLED')],
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
        ],
        [old.id, old.version, request.id, JSON.stringify(request), request.createdOn, flag(request.status === 'ENABLED')],
      );
      return outcome === 'RETRY' ? retry : request;
    });
  }
}
