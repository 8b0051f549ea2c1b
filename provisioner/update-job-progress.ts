import type { Logger } from '../log/logger.ts';
import { decodeJobProgress, platformJobProgressFilter, type JobProgressMessage } from '../protocol/jobs.ts';
import { parseDeviceTopic } from '../protocol/topics.ts';
import type { Account, InstalledBundle, JobDeviceState, ProvisionStore, UpdateJob } from '../store/types.ts';
import { PlatformError } from '../errors/platform-error.ts';
import { audit } from './audit.ts';
import type { ProvisionerDependencies } from './dependencies.ts';
import { KeyedTokenBuckets } from './token-buckets.ts';
import type { ProvisioningTransport } from './transport.ts';
import { jobDeviceReports } from '../metrics/metrics.ts';

export type JobProgressDependencies = Pick<ProvisionerDependencies, 'store' | 'log'>;

/**
 * What one device may make the platform do with progress reports: a burst of this many, then one
 * a second (per process). A job takes two or three reports; what goes beyond is dropped unread.
 */
export const progressBurst = 10;
const progressRefillMs = 1000;

/** The states a report may move a device's status from: only a job that was sent to it, and not finished. */
const reportableFrom: readonly JobDeviceState[] = ['SENT', 'DOWNLOADING'];

/** Compare-and-set attempts when stopping a job (another process or the API may change it meanwhile). */
const stopAttempts = 5;

/** Replaces the entries of the same name by the job's bundles (a device runs one version of each). */
export function withInstalledBundles(current: readonly InstalledBundle[], installed: readonly InstalledBundle[]): InstalledBundle[] {
  const names = new Set(installed.map((bundle) => bundle.name));
  return [...current.filter((bundle) => !names.has(bundle.name)), ...installed].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The failure threshold (AWS IoT Jobs' canary habit): once `failureThreshold` devices of a RUNNING
 * or PAUSED job have FAILED, the job is STOPPED and sends no more. Compare-and-set: of processes
 * that see the threshold at once, one stops it and audits `job.stopped`.
 */
export async function applyFailureThreshold(store: ProvisionStore, log: Logger, job: UpdateJob): Promise<void> {
  if (job.failureThreshold === null) return;
  const failed = (await store.countJobDevices(job.id)).FAILED;
  if (failed < job.failureThreshold) return;
  for (let attempt = 0; attempt < stopAttempts; attempt += 1) {
    const current = await store.getUpdateJob(job.id);
    if (!current || (current.state !== 'RUNNING' && current.state !== 'PAUSED')) return;
    try {
      await store.updateUpdateJobState(current.id, current.version, 'STOPPED');
    } catch (error) {
      if (error instanceof PlatformError && error.code === 'VERSION_CONFLICT') continue;
      throw error;
    }
    log.warn({ jobId: job.id, failed, failureThreshold: job.failureThreshold }, 'update job stopped: failure threshold reached');
    await audit(store, log, {
      type: 'job.stopped',
      outcome: 'success',
      actor: 'platform',
      accountId: job.accountId,
      clientId: null,
      provisionRequestId: null,
      detail: { jobId: job.id, failed, failureThreshold: job.failureThreshold, from: current.state },
    });
    return;
  }
}

/** What INSTALLED means for the device record: the job's bundles run there, and its configuration is applied. */
async function recordInstalled(store: ProvisionStore, account: Account, clientId: string, job: UpdateJob): Promise<void> {
  const installed: InstalledBundle[] = [];
  for (const id of job.bundleIds) {
    const bundle = await store.getBundle(id);
    if (bundle) installed.push({ name: bundle.name, version: bundle.version, sha256: bundle.sha256 });
  }
  const device = await store.getDevice(account.id, clientId);
  const configurationApplied =
    device !== null &&
    job.configurationId !== null &&
    device.configurationId === job.configurationId &&
    device.configurationVersion === job.configurationVersion &&
    device.expectedConfigurationHash !== null;
  await store.upsertDevice(account.id, clientId, {
    bundles: withInstalledBundles(device?.bundles ?? [], installed),
    ...(configurationApplied
      ? { reportedConfigurationHash: device.expectedConfigurationHash, configurationState: 'APPLIED' as const, configurationError: null }
      : {}),
  });
}

/**
 * The platform's side of JOB-V1 progress (docs/PROTOCOL.md, "Update jobs"): each report moves the
 * device's status in the job from SENT or DOWNLOADING to DOWNLOADING, INSTALLED or FAILED (with the
 * device's reason). A report for a job not sent to the device, or one already finished, changes
 * nothing: a repeated report is harmless. INSTALLED records the job's bundles on the device (and its
 * configuration as applied); FAILED may reach the job's failure threshold, which stops the job.
 * Nothing is answered.
 */
export async function startJobProgressHandler(deps: JobProgressDependencies, transport: ProvisioningTransport): Promise<{ close(): Promise<void> }> {
  const { store } = deps;
  const log: Logger = deps.log.child({ component: 'update-job-progress' });
  const pending = new Set<Promise<void>>();
  const allowance = new KeyedTokenBuckets(progressBurst, progressRefillMs);

  async function handle(accountName: string, clientId: string, report: JobProgressMessage): Promise<void> {
    const account = await store.getAccountByName(accountName);
    if (!account) return;
    const job = await store.getUpdateJob(report.jobId);
    if (!job || job.accountId !== account.id) {
      log.info({ clientId, account: accountName, jobId: report.jobId }, 'job progress for no job of the account: ignored');
      return;
    }
    const error = report.state === 'FAILED' ? (report.errorMessage ?? null) : null;
    const changed = await store.setJobDeviceStatus(job.id, account.id, clientId, { state: report.state, error }, reportableFrom);
    if (!changed) return;
    jobDeviceReports.inc({ state: report.state });
    const event = { actor: clientId, accountId: account.id, clientId, provisionRequestId: null } as const;
    if (report.state === 'INSTALLED') {
      await recordInstalled(store, account, clientId, job);
      await audit(store, log, { ...event, type: 'job.device.installed', outcome: 'success', detail: { jobId: job.id } });
    } else if (report.state === 'FAILED') {
      log.info({ clientId, account: accountName, jobId: job.id, error }, 'update job failed on a device');
      await audit(store, log, { ...event, type: 'job.device.failed', outcome: 'failure', detail: { jobId: job.id, error } });
      await applyFailureThreshold(store, log, job);
    }
  }

  await transport.start([platformJobProgressFilter], (topic, payload) => {
    const parsed = parseDeviceTopic(topic);
    if (!parsed) return;
    const key = `${parsed.account}/${parsed.clientId}`;
    if (allowance.take(key) > 0) return;
    let report: JobProgressMessage;
    try {
      report = decodeJobProgress(payload);
    } catch (error) {
      log.warn({ clientId: parsed.clientId, account: parsed.account, reason: (error as Error).message }, 'job progress refused');
      return;
    }
    const work = handle(parsed.account, parsed.clientId, report)
      .catch((error: unknown) => log.warn({ err: error, clientId: parsed.clientId, jobId: report.jobId }, 'job progress not handled'))
      .finally(() => pending.delete(work));
    pending.add(work);
  });
  return {
    async close() {
      await Promise.allSettled([...pending]);
      await transport.close();
    },
  };
}
