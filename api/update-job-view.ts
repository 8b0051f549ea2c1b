import type { JobDeviceState, JobDeviceStatus, UpdateJob } from '../store/types.ts';
import { iso } from './views.ts';

/** An update job on the wire (schema UpdateJob): ISO date-times. */
export function updateJobView(job: UpdateJob) {
  return {
    id: job.id,
    accountId: job.accountId,
    name: job.name,
    category: job.category,
    tags: [...job.tags],
    clientIds: [...job.clientIds],
    bundleIds: [...job.bundleIds],
    configurationId: job.configurationId,
    configurationVersion: job.configurationVersion,
    state: job.state,
    failureThreshold: job.failureThreshold,
    createdOn: iso(job.createdOn),
    createdBy: job.createdBy,
    modifiedOn: iso(job.modifiedOn),
    version: job.version,
  };
}

/** The job with how many of its devices are in each state and how many devices match it now (schema UpdateJobDetail). */
export function updateJobDetailView(job: UpdateJob, counts: Readonly<Record<JobDeviceState, number>>, matchingDevices: number) {
  return {
    ...updateJobView(job),
    counts: { PENDING: counts.PENDING, SENT: counts.SENT, DOWNLOADING: counts.DOWNLOADING, INSTALLED: counts.INSTALLED, FAILED: counts.FAILED },
    matchingDevices,
  };
}

/** One device's status in a job (schema JobDevice). */
export function jobDeviceView(status: JobDeviceStatus) {
  return { clientId: status.clientId, state: status.state, error: status.error, modifiedOn: iso(status.modifiedOn) };
}
