import { PlatformError } from '../../errors/platform-error.ts';
import { buildEnrollmentGroup, patchEnrollmentGroup } from '../enrollment-records.ts';
import type { EnrollmentGroup, EnrollmentGroupFilter, EnrollmentGroupPatch, NewEnrollmentGroup } from '../enrollment-types.ts';
import { pageWindow, refusal } from '../records.ts';
import type { Page } from '../types.ts';
import { createEnrollmentGroupScript, deleteEnrollmentGroupScript, updateNamedRecordScript } from './enrollment-scripts.ts';
import { loadStrings, pageFromIndex } from './index-paging.ts';
import { parseRecord, type RedisContext } from './redis-context.ts';
import { retry, retryWhileChanged } from './script-runner.ts';

/**
 * Enrollment groups: records by id, a unique name per account, and three indexes by createdOn
 * (all groups, an account's, a CA's: the last two keep the account and the CA from being deleted).
 */
export class RedisEnrollmentGroups {
  constructor(private readonly context: RedisContext) {}

  async create(input: NewEnrollmentGroup): Promise<EnrollmentGroup> {
    const { keys, scripts } = this.context;
    const group = buildEnrollmentGroup(input, Date.now());
    await scripts.run(
      createEnrollmentGroupScript,
      [
        keys.enrollmentGroup(group.id),
        keys.enrollmentGroupName(group.accountId, group.name),
        keys.account(group.accountId),
        keys.manufacturerCa(group.manufacturerCaId),
        keys.enrollmentGroups(),
        keys.accountEnrollmentGroups(group.accountId),
        keys.manufacturerCaEnrollmentGroups(group.manufacturerCaId),
      ],
      [group.id, JSON.stringify(group), group.createdOn],
    );
    return group;
  }

  async get(id: string): Promise<EnrollmentGroup | null> {
    const json = await this.context.redis.get(this.context.keys.enrollmentGroup(id));
    return json ? parseRecord<EnrollmentGroup>(json) : null;
  }

  /** Read from the narrowest index the filter allows (a CA's groups, then an account's), the other filters applied here. */
  list(filter: EnrollmentGroupFilter = {}): Promise<Page<EnrollmentGroup>> {
    const { redis, keys } = this.context;
    const { accountId, manufacturerCaId, category } = filter;
    const index =
      manufacturerCaId !== undefined
        ? keys.manufacturerCaEnrollmentGroups(manufacturerCaId)
        : accountId !== undefined
          ? keys.accountEnrollmentGroups(accountId)
          : keys.enrollmentGroups();
    const filtered = accountId !== undefined || manufacturerCaId !== undefined || category !== undefined;
    return pageFromIndex(
      redis,
      {
        index,
        load: (ids) =>
          loadStrings(
            redis,
            ids.map((id) => keys.enrollmentGroup(id)),
          ),
        parse: (json) => parseRecord<EnrollmentGroup>(json),
        matches: filtered
          ? (group) =>
              (accountId === undefined || group.accountId === accountId) &&
              (manufacturerCaId === undefined || group.manufacturerCaId === manufacturerCaId) &&
              (category === undefined || group.category === category)
          : undefined,
      },
      pageWindow(filter),
    );
  }

  async update(id: string, expectedVersion: number, patch: EnrollmentGroupPatch): Promise<EnrollmentGroup> {
    const { keys, scripts } = this.context;
    const current = await this.get(id);
    if (!current) throw new PlatformError('NOT_FOUND', { detail: refusal.enrollmentGroupNotFound });
    if (current.version !== expectedVersion) throw new PlatformError('VERSION_CONFLICT', { detail: refusal.staleVersion });
    const next = patchEnrollmentGroup(current, patch, Date.now());
    await scripts.run(
      updateNamedRecordScript,
      [keys.enrollmentGroup(id), keys.enrollmentGroupName(current.accountId, current.name), keys.enrollmentGroupName(next.accountId, next.name)],
      [id, expectedVersion, JSON.stringify(next), 'enrollmentGroupNotFound', 'enrollmentGroupNameTaken'],
    );
    return next;
  }

  /** The script refuses (RETRY) when the group was renamed since it was read, so its name key is the one freed. */
  async delete(id: string): Promise<void> {
    const { keys, scripts } = this.context;
    await retryWhileChanged(async () => {
      const current = await this.get(id);
      if (!current) throw new PlatformError('NOT_FOUND', { detail: refusal.enrollmentGroupNotFound });
      const { outcome } = await scripts.run(
        deleteEnrollmentGroupScript,
        [
          keys.enrollmentGroup(id),
          keys.enrollmentGroupName(current.accountId, current.name),
          keys.enrollmentGroups(),
          keys.accountEnrollmentGroups(current.accountId),
          keys.manufacturerCaEnrollmentGroups(current.manufacturerCaId),
        ],
        [id, current.version],
      );
      return outcome === 'RETRY' ? retry : undefined;
    });
  }
}
