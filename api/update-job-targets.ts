import { fleetUpdateNotices, type FleetUpdateSender } from '../cluster/fleet-update-notice.ts';
import { updateJobMatches } from '../store/registry-records.ts';
import type { Account, DeviceFilter, DeviceRecord, ProvisionStore, UpdateJob } from '../store/types.ts';

type JobTarget = Pick<UpdateJob, 'accountId' | 'category' | 'tags' | 'clientIds'>;

/** listDevices answers at most this many per page. */
const pageSize = 1000;

/**
 * Each device of the account the job targets (only those online when `online` is true). A job
 * naming clientIds reads those records one by one; otherwise the store's filters narrow the list
 * by category and one tag, and the other tags are checked here.
 */
async function* targetDevices(store: ProvisionStore, job: JobTarget, online?: boolean): AsyncGenerator<DeviceRecord> {
  if (job.clientIds.length > 0) {
    for (const clientId of job.clientIds) {
      const device = await store.getDevice(job.accountId, clientId);
      if (device && updateJobMatches(job, device) && (online === undefined || device.online === online)) yield device;
    }
    return;
  }
  const filter: DeviceFilter = {
    accountId: job.accountId,
    ...(job.category !== null ? { category: job.category } : {}),
    ...(job.tags[0] !== undefined ? { tag: job.tags[0] } : {}),
    ...(online !== undefined ? { online } : {}),
  };
  for (let offset = 0; ; offset += pageSize) {
    const page = await store.listDevices({ ...filter, offset, limit: pageSize });
    for (const device of page.items) if (updateJobMatches(job, device)) yield device;
    if (page.items.length < pageSize) return;
  }
}

/** How many devices of the account match the job's target now, online or not. */
export async function countMatchingDevices(store: ProvisionStore, job: JobTarget): Promise<number> {
  if (job.clientIds.length === 0 && job.tags.length <= 1) {
    // The store's filters are the whole rule: its total answers.
    const page = await store.listDevices({
      accountId: job.accountId,
      ...(job.category !== null ? { category: job.category } : {}),
      ...(job.tags[0] !== undefined ? { tag: job.tags[0] } : {}),
      limit: 1,
    });
    return page.total;
  }
  let count = 0;
  const devices = targetDevices(store, job);
  while (!(await devices.next()).done) count += 1;
  return count;
}

/**
 * Tells the broker side to bring the job's online devices up to date (a job created or resumed):
 * the process holding each connection sends it its latest matching job. Answers how many were named.
 */
export async function tellOnlineTargets(store: ProvisionStore, fleetUpdates: FleetUpdateSender, account: Account, job: JobTarget): Promise<number> {
  const clientIds: string[] = [];
  for await (const device of targetDevices(store, job, true)) clientIds.push(device.clientId);
  for (const notice of fleetUpdateNotices({ accountId: account.id, accountName: account.name, cause: 'job' }, clientIds)) {
    await fleetUpdates.tellToUpdate(notice);
  }
  return clientIds.length;
}
