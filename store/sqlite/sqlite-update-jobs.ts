import { PlatformError } from '../../errors/platform-error.ts';
import { pageWindow, refusal } from '../records.ts';
import { buildJobDeviceStatus, buildUpdateJob, emptyJobDeviceCounts } from '../registry-records.ts';
import type { JobDeviceState, JobDeviceStatus, NewUpdateJob, Page, PageOptions, UpdateJob, UpdateJobFilter, UpdateJobState } from '../types.ts';
import { jobDeviceFromRow, jobDeviceToRow, updateJobFromRow, updateJobToRow, type JobDeviceRow, type UpdateJobRow } from './registry-row-mapping.ts';
import { Conditions, selectPage, type SqlRunner } from './sql-runner.ts';

const insertUpdateJob = `
  INSERT INTO update_jobs (
    id, account_id, name, category, tags, client_ids, bundle_ids, configuration_id, configuration_version,
    state, failure_threshold, created_on, created_by, modified_on, version)
  VALUES (
    @id, @account_id, @name, @category, @tags, @client_ids, @bundle_ids, @configuration_id, @configuration_version,
    @state, @failure_threshold, @created_on, @created_by, @modified_on, @version)`;

/** Compare-and-set on version: only the state (and the bookkeeping) changes. */
const updateJobState = `
  UPDATE update_jobs SET state = @state, modified_on = @modified_on, version = @version
  WHERE id = @id AND version = @expected_version`;

/** A device's first status in a job, or its next one: the account it belongs to stays as first recorded. */
const upsertJobDevice = `
  INSERT INTO job_devices (job_id, client_id, account_id, state, error, modified_on)
  VALUES (@job_id, @client_id, @account_id, @state, @error, @modified_on)
  ON CONFLICT (job_id, client_id) DO UPDATE SET state = excluded.state, error = excluded.error, modified_on = excluded.modified_on
  RETURNING *`;

/** Newest first; ids (UUID version 7) break ties between jobs made in the same millisecond. */
const newestJobFirst = 'created_on DESC, id DESC';

/**
 * Update jobs (issue 15 §4) and where each device stands in them. A job is history: it is never
 * deleted, and outlives the account's devices like the devices table outlives accounts.
 */
export class SqliteUpdateJobs {
  constructor(private readonly sql: SqlRunner) {}

  create(input: NewUpdateJob): UpdateJob {
    const job = buildUpdateJob(input, Date.now());
    this.sql.run(insertUpdateJob, updateJobToRow(job));
    return job;
  }

  get(id: string): UpdateJob | null {
    const row = this.sql.get<UpdateJobRow>('SELECT * FROM update_jobs WHERE id = ?', id);
    return row ? updateJobFromRow(row) : null;
  }

  list(filter: UpdateJobFilter = {}): Page<UpdateJob> {
    const conditions = new Conditions().equal('account_id', filter.accountId).oneOf('state', filter.states);
    return selectPage(this.sql, 'update_jobs', conditions, newestJobFirst, pageWindow(filter), updateJobFromRow);
  }

  updateState(id: string, expectedVersion: number, state: UpdateJobState): UpdateJob {
    return this.sql.write(() => {
      const current = this.get(id);
      if (!current) throw new PlatformError('NOT_FOUND', { detail: refusal.updateJobNotFound });
      if (current.version !== expectedVersion) throw new PlatformError('VERSION_CONFLICT', { detail: refusal.staleVersion });
      const next: UpdateJob = { ...current, state, modifiedOn: Date.now(), version: current.version + 1 };
      const { changes } = this.sql.run(updateJobState, { ...updateJobToRow(next), expected_version: expectedVersion });
      if (changes === 0) throw new PlatformError('VERSION_CONFLICT', { detail: refusal.staleVersion });
      return next;
    });
  }

  /** The check of the stored state and the write in one transaction: of two callers with the same onlyFrom, one moves the device. */
  setDeviceStatus(
    jobId: string,
    accountId: string,
    clientId: string,
    status: { readonly state: JobDeviceState; readonly error?: string | null },
    onlyFrom?: readonly JobDeviceState[],
  ): JobDeviceStatus | null {
    return this.sql.write(() => {
      if (!this.sql.get('SELECT 1 FROM update_jobs WHERE id = ?', jobId)) throw new PlatformError('NOT_FOUND', { detail: refusal.updateJobNotFound });
      if (onlyFrom) {
        const stored = this.getDeviceStatus(jobId, clientId);
        if (!onlyFrom.includes(stored?.state ?? 'PENDING')) return null;
      }
      const next = buildJobDeviceStatus(jobId, accountId, clientId, status, Date.now());
      const row = this.sql.get<JobDeviceRow>(upsertJobDevice, jobDeviceToRow(next));
      if (!row) throw new Error('the job device upsert returned no row');
      return jobDeviceFromRow(row);
    });
  }

  getDeviceStatus(jobId: string, clientId: string): JobDeviceStatus | null {
    const row = this.sql.get<JobDeviceRow>('SELECT * FROM job_devices WHERE job_id = ? AND client_id = ?', jobId, clientId);
    return row ? jobDeviceFromRow(row) : null;
  }

  listDevices(jobId: string, filter: PageOptions & { readonly state?: JobDeviceState } = {}): Page<JobDeviceStatus> {
    const conditions = new Conditions().equal('job_id', jobId).equal('state', filter.state);
    return selectPage(this.sql, 'job_devices', conditions, 'client_id', pageWindow(filter), jobDeviceFromRow);
  }

  countDevices(jobId: string): Record<JobDeviceState, number> {
    const counts = emptyJobDeviceCounts();
    const rows = this.sql.all<{ state: JobDeviceState; count: number }>(
      'SELECT state, count(*) AS count FROM job_devices WHERE job_id = ? GROUP BY state',
      jobId,
    );
    for (const { state, count } of rows) counts[state] = count;
    return counts;
  }

  listOfDevice(accountId: string, clientId: string): JobDeviceStatus[] {
    const rows = this.sql.all<JobDeviceRow>(
      `SELECT job_devices.* FROM job_devices JOIN update_jobs ON update_jobs.id = job_devices.job_id
       WHERE job_devices.account_id = ? AND job_devices.client_id = ?
       ORDER BY update_jobs.created_on DESC, update_jobs.id DESC`,
      accountId,
      clientId,
    );
    return rows.map(jobDeviceFromRow);
  }
}
