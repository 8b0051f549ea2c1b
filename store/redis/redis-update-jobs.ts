import { PlatformError } from '../../errors/platform-error.ts';
import { activeListFilter, pageWindow, refusal } from '../records.ts';
import { buildJobDeviceStatus, buildUpdateJob, emptyJobDeviceCounts } from '../registry-records.ts';
import type { JobDeviceState, JobDeviceStatus, NewUpdateJob, Page, PageOptions, UpdateJob, UpdateJobFilter, UpdateJobState } from '../types.ts';
import { jobDeviceStates } from '../types.ts';
import { loadStrings, pageFromIndex } from './index-paging.ts';
import { flag, parseRecord, type RedisContext } from './redis-context.ts';
import { updateVersionedRecordScript } from './record-scripts.ts';
import { createUpdateJobScript, setJobDeviceStatusScript } from './update-job-scripts.ts';

/** Update jobs (newest first, over all accounts and per account) and where each device stands in them (update-job-scripts.ts). */
export class RedisUpdateJobs {
  constructor(private readonly context: RedisContext) {}

  async create(input: NewUpdateJob): Promise<UpdateJob> {
    const { keys, scripts } = this.context;
    const job = buildUpdateJob(input, Date.now());
    await scripts.run(
      createUpdateJobScript,
      [keys.updateJob(job.id), keys.account(job.accountId), keys.updateJobs(), keys.accountUpdateJobs(job.accountId)],
      [job.id, JSON.stringify(job), job.createdOn],
    );
    return job;
  }

  async get(id: string): Promise<UpdateJob | null> {
    const json = await this.context.redis.get(this.context.keys.updateJob(id));
    return json ? parseRecord<UpdateJob>(json) : null;
  }

  list(filter: UpdateJobFilter = {}): Promise<Page<UpdateJob>> {
    const { redis, keys } = this.context;
    const states = activeListFilter(filter.states);
    return pageFromIndex(
      redis,
      {
        index: filter.accountId === undefined ? keys.updateJobs() : keys.accountUpdateJobs(filter.accountId),
        newestFirst: true,
        load: (ids) =>
          loadStrings(
            redis,
            ids.map((id) => keys.updateJob(id)),
          ),
        parse: (json) => parseRecord<UpdateJob>(json),
        matches: states === undefined ? undefined : (job) => states.includes(job.state),
      },
      pageWindow(filter),
    );
  }

  async updateState(id: string, expectedVersion: number, state: UpdateJobState): Promise<UpdateJob> {
    const { keys, scripts } = this.context;
    const current = await this.get(id);
    if (!current) throw new PlatformError('NOT_FOUND', { detail: refusal.updateJobNotFound });
    if (current.version !== expectedVersion) throw new PlatformError('VERSION_CONFLICT', { detail: refusal.staleVersion });
    const next: UpdateJob = { ...current, state, modifiedOn: Date.now(), version: current.version + 1 };
    await scripts.run(updateVersionedRecordScript, [keys.updateJob(id)], [expectedVersion, JSON.stringify(next), 'updateJobNotFound']);
    return next;
  }

  async setDeviceStatus(
    jobId: string,
    accountId: string,
    clientId: string,
    status: { readonly state: JobDeviceState; readonly error?: string | null },
    onlyFrom?: readonly JobDeviceState[],
  ): Promise<JobDeviceStatus | null> {
    const { keys, scripts } = this.context;
    const next = buildJobDeviceStatus(jobId, accountId, clientId, status, Date.now());
    const { values } = await scripts.run(
      setJobDeviceStatusScript,
      [
        keys.updateJob(jobId),
        keys.jobDeviceStatuses(jobId),
        keys.jobDevices(jobId),
        keys.deviceJobs(accountId, clientId),
        ...jobDeviceStates.map((state) => keys.jobDevicesInState(jobId, state)),
      ],
      [clientId, JSON.stringify(next), next.state, jobId, flag(onlyFrom !== undefined), ...(onlyFrom ?? [])],
    );
    return values[0] === undefined ? null : next;
  }

  async getDeviceStatus(jobId: string, clientId: string): Promise<JobDeviceStatus | null> {
    const json = await this.context.redis.hget(this.context.keys.jobDeviceStatuses(jobId), clientId);
    return json ? parseRecord<JobDeviceStatus>(json) : null;
  }

  listDevices(jobId: string, filter: PageOptions & { readonly state?: JobDeviceState } = {}): Promise<Page<JobDeviceStatus>> {
    const { redis, keys } = this.context;
    return pageFromIndex(
      redis,
      {
        index: filter.state === undefined ? keys.jobDevices(jobId) : keys.jobDevicesInState(jobId, filter.state),
        load: (clientIds) => redis.hmget(keys.jobDeviceStatuses(jobId), ...clientIds),
        parse: (json) => parseRecord<JobDeviceStatus>(json),
      },
      pageWindow(filter),
    );
  }

  async countDevices(jobId: string): Promise<Record<JobDeviceState, number>> {
    const { redis, keys } = this.context;
    const counts = emptyJobDeviceCounts();
    const cards = await Promise.all(jobDeviceStates.map((state) => redis.zcard(keys.jobDevicesInState(jobId, state))));
    jobDeviceStates.forEach((state, index) => (counts[state] = cards[index] ?? 0));
    return counts;
  }

  /** The device's jobs newest first (scored by the job's createdOn), each with the device's status in it. */
  async listOfDevice(accountId: string, clientId: string): Promise<JobDeviceStatus[]> {
    const { redis, keys } = this.context;
    const jobIds = await redis.zrevrange(keys.deviceJobs(accountId, clientId), 0, -1);
    const statuses = await Promise.all(jobIds.map((jobId) => redis.hget(keys.jobDeviceStatuses(jobId), clientId)));
    return statuses.flatMap((json) => {
      const status = json ? parseRecord<JobDeviceStatus>(json) : null;
      return status?.accountId === accountId ? [status] : [];
    });
  }
}
