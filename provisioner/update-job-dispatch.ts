import { randomUUID } from 'node:crypto';
import { encodeJobCommand, encodeJobDocument, jobCommandTopic, type JobDocument } from '../protocol/jobs.ts';
import { inDeviceEncoding, type PayloadEncoding } from '../protocol/payload-encoding.ts';
import { signBody } from '../protocol/signing.ts';
import { updateJobMatches } from '../store/registry-records.ts';
import type { Account, BundleMetadata, DeviceRecord, JobDeviceState, JobDeviceStatus, ProvisionStore, UpdateJob } from '../store/types.ts';
import { audit } from './audit.ts';
import { buildConfiguration, type BuiltConfiguration } from './configuration-builder.ts';
import type { ProvisionerDependencies } from './dependencies.ts';

export type JobDispatchDependencies = Pick<ProvisionerDependencies, 'store' | 'signing' | 'chainPems' | 'bundleDownloadUrl' | 'accountBrokerUrl' | 'log'>;

/** QoS 1, not retained, into the account broker's topic space. */
export type JobPublish = (topic: string, payload: Buffer) => Promise<void>;

/** Running jobs are read this many at a time, newest first, until one matches. */
const jobPageSize = 100;

/** The newest RUNNING job of the account that matches the device, or null: innovaphone's "latest matching job". */
export async function latestMatchingJob(store: Pick<ProvisionStore, 'listUpdateJobs'>, device: DeviceRecord): Promise<UpdateJob | null> {
  for (let offset = 0; ; offset += jobPageSize) {
    const page = await store.listUpdateJobs({ accountId: device.accountId, states: ['RUNNING'], offset, limit: jobPageSize });
    const match = page.items.find((job) => updateJobMatches(job, device));
    if (match) return match;
    if (page.items.length < jobPageSize) return null;
  }
}

/**
 * The state from which the job is sent to the device, or null when it is not: never sent (absent or
 * PENDING), or sent and not finished (SENT, DOWNLOADING) before the device's current connection
 * began: the device lost it with its previous connection, or restarted while downloading. A birth
 * within the same connection (after applying a configuration) does not send it again.
 */
function sendableFrom(status: JobDeviceStatus | null, connectedSince: number | null): JobDeviceState | null {
  if (!status || status.state === 'PENDING') return 'PENDING';
  const unfinished = status.state === 'SENT' || status.state === 'DOWNLOADING';
  return unfinished && connectedSince !== null && status.modifiedOn < connectedSince ? status.state : null;
}

/** The job's configuration version, built for this device as every configuration is (the account's values filled in). */
async function jobConfiguration(deps: JobDispatchDependencies, account: Account, device: DeviceRecord, job: UpdateJob): Promise<BuiltConfiguration | null> {
  if (job.configurationId === null || job.configurationVersion === null) return null;
  const version = await deps.store.getConfigurationVersion(job.configurationId, job.configurationVersion);
  if (!version) {
    deps.log.warn({ jobId: job.id, configurationId: job.configurationId, version: job.configurationVersion }, 'update job: its configuration version is gone');
    return null;
  }
  return buildConfiguration(version, account, {
    clientId: device.clientId,
    account: account.name,
    brokerUrl: account.brokerUrl ?? deps.accountBrokerUrl,
  });
}

/** The job's bundles the device does not have yet (same name and sha256: DeviceRecord.bundles). A bundle deleted since the job was made is left out. */
async function bundlesToSend(deps: JobDispatchDependencies, device: DeviceRecord, job: UpdateJob): Promise<BundleMetadata[]> {
  const wanted: BundleMetadata[] = [];
  for (const id of job.bundleIds) {
    const bundle = await deps.store.getBundle(id);
    if (!bundle) {
      deps.log.warn({ jobId: job.id, bundleId: id }, 'update job: one of its bundles is gone');
      continue;
    }
    if (!device.bundles.some((installed) => installed.name === bundle.name && installed.sha256 === bundle.sha256)) wanted.push(bundle);
  }
  return wanted;
}

/**
 * Brings one device up to its latest matching update job (docs/PROTOCOL.md, JOB-V1): called for a
 * device connected to this process, after its birth and when the API names it (a job created or
 * resumed). When the device's status in that job is absent or PENDING (or SENT or DOWNLOADING
 * since before its current connection began, `connectedSince`: lost with its previous
 * connection), the job is sent, signed like
 * every reply (§7), with only the bundles it lacks, and its status becomes SENT; a job that leaves
 * nothing to send (every bundle there, the configuration already reported) is INSTALLED at once.
 * The status changes only from the state read (setJobDeviceStatus onlyFrom), so of two processes
 * handling the same device only one sends. A job carrying a configuration pins it on the device
 * record (configurationId and version): the platform holds that configuration for it from then on.
 * `encoding`: the one the device's last birth came in (KuraPayload protobuf or JSON, the default).
 * `connectedSince`: when the device's connection to this process began (null: unknown, nothing is resent).
 */
export async function sendLatestMatchingJob(
  deps: JobDispatchDependencies,
  account: Account,
  device: DeviceRecord,
  publish: JobPublish,
  encoding: PayloadEncoding = 'json',
  connectedSince: number | null = null,
): Promise<void> {
  const { store } = deps;
  const log = deps.log.child({ component: 'update-jobs' });
  const job = await latestMatchingJob(store, device);
  if (!job) return;
  const status = await store.getJobDeviceStatus(job.id, device.clientId);
  const from = sendableFrom(status, connectedSince);
  if (!from) return;
  const bundles = await bundlesToSend(deps, device, job);
  const configuration = await jobConfiguration(deps, account, device, job);
  const configurationNeeded = configuration !== null && configuration.sha256 !== device.reportedConfigurationHash;
  const event = { actor: 'platform', accountId: account.id, clientId: device.clientId, provisionRequestId: null } as const;

  if (configuration) {
    await store.upsertDevice(account.id, device.clientId, {
      configurationId: job.configurationId,
      configurationVersion: job.configurationVersion,
      expectedConfigurationHash: configuration.sha256,
      ...(configurationNeeded ? { configurationState: 'PENDING', configurationError: null } : {}),
    });
  }
  if (bundles.length === 0 && !configurationNeeded) {
    if (await store.setJobDeviceStatus(job.id, account.id, device.clientId, { state: 'INSTALLED', error: null }, [from])) {
      log.info({ jobId: job.id, clientId: device.clientId }, 'update job: the device has everything already');
      await audit(store, log, { ...event, type: 'job.device.installed', outcome: 'success', detail: { jobId: job.id, alreadyThere: true } });
    }
    return;
  }
  if (!(await store.setJobDeviceStatus(job.id, account.id, device.clientId, { state: 'SENT', error: null }, [from]))) return;

  const requestId = randomUUID();
  try {
    const document: JobDocument = {
      clientId: device.clientId,
      requestId,
      jobId: job.id,
      bundles: await Promise.all(
        bundles.map(async (bundle) => ({
          name: bundle.name,
          version: bundle.version,
          size: bundle.size,
          sha256: bundle.sha256,
          url: await deps.bundleDownloadUrl(bundle, device.clientId),
        })),
      ),
      ...(configurationNeeded
        ? {
            configuration: {
              configurationId: job.configurationId!,
              version: job.configurationVersion!,
              content: configuration.content,
              sha256: configuration.sha256,
            },
          }
        : {}),
      certificates: { signing: deps.signing.certPem, chain: deps.chainPems },
    };
    const body = encodeJobDocument(document);
    const { signature, algorithm } = signBody(body, deps.signing.key);
    const command = encodeJobCommand({ requestId, signature, signatureAlgorithm: algorithm, body });
    await publish(jobCommandTopic(account.name, device.clientId), inDeviceEncoding(command, encoding));
  } catch (error) {
    // Not sent: as it was, so that the next birth (or notice) sends it.
    await store.setJobDeviceStatus(job.id, account.id, device.clientId, { state: from, error: null }, ['SENT']).catch(() => null);
    throw error;
  }
  log.info({ jobId: job.id, clientId: device.clientId, requestId, bundles: bundles.length, configuration: configurationNeeded }, 'update job sent');
  await audit(store, log, {
    ...event,
    type: 'job.sent',
    outcome: 'success',
    detail: {
      jobId: job.id,
      requestId,
      bundles: bundles.map((bundle) => `${bundle.name}@${bundle.version}`),
      configurationVersion: configurationNeeded ? job.configurationVersion : null,
    },
  });
}
