import type { MqttClient } from 'mqtt';
import { sha256Hex } from '../protocol/configuration-hash.ts';
import { decodeJobCommand, encodeJobProgress, jobCommandTopic, jobErrorMessageMaxLength, jobProgressTopic, type JobDocument } from '../protocol/jobs.ts';
import type { DeviceState } from './device-state.ts';
import { answerWithin } from './mqtt-waits.ts';
import { UntrustedReplyError, verifyJobCommand, type TrustOptions } from './reply-verification.ts';

/** What a device reports of the update jobs it is sent, for the progress line and the tests. */
export type JobEvent = 'job' | 'job-ignored' | 'job-installed' | 'job-failed';

/** The reason a device run with --fail-jobs gives for every job. */
export const failJobsReason = 'refused by --fail-jobs';

export interface JobExchangeOptions {
  /** The checks of every signed body (§7): the held root, ca-authentication, the device's clientId. */
  readonly trust: Omit<TrustOptions, 'requestId'>;
  readonly account: string;
  /** Bounds each bundle download and each PUBACK of a report. */
  readonly timeoutMs: number;
  /** Report every job FAILED with failJobsReason, without downloading anything (--fail-jobs). */
  readonly failJobs?: boolean;
  readonly onEvent?: (event: JobEvent, detail?: string) => void;
}

/** One bundle's bytes, the whole download within timeoutMs. */
async function download(bundle: JobDocument['bundles'][number], timeoutMs: number): Promise<Buffer> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(bundle.url, { signal: timeout });
    if (!response.ok) throw new Error(`bundle ${bundle.name}: HTTP ${response.status}`);
    return Buffer.from(await response.arrayBuffer());
  } catch (error) {
    if (timeout.aborted) throw new Error(`bundle ${bundle.name}: timeout waiting for the download (${timeoutMs} ms)`);
    throw error;
  }
}

/**
 * The device side of JOB-V1 (docs/PROTOCOL.md, "Update jobs"): a job command that passes §7's
 * checks is carried out in order of arrival: DOWNLOADING, then each bundle downloaded and checked
 * against its size and sha256, the configuration stored, then INSTALLED; a download that fails or
 * does not match is reported FAILED with the reason. A command that fails a check is ignored (it
 * gets no report: its job.id cannot be trusted). A job met again (QoS 1 may deliver twice) is not
 * carried out again: its final report is sent again, which the platform ignores. A report that
 * could not go out (the connection ended) goes out on the next connection (attach).
 */
export class JobExchange {
  private client: MqttClient | null = null;
  private queue: Promise<void> = Promise.resolve();
  /** The final report of each job carried out, by job.id. */
  private readonly finished = new Map<string, Buffer>();
  /** Final reports not acknowledged yet, by job.id. */
  private readonly unsent = new Map<string, Buffer>();

  constructor(
    private readonly state: DeviceState,
    private readonly options: JobExchangeOptions,
  ) {}

  private get clientId(): string {
    return this.options.trust.clientId;
  }

  /** Takes over a new connection (subscribed to jobDeviceFilters before its birth): job commands on it are handled, unsent reports sent. */
  attach(client: MqttClient): void {
    this.client = client;
    const topic = jobCommandTopic(this.options.account, this.clientId);
    client.on('message', (received, payload) => {
      if (received === topic) this.receive(payload);
    });
    for (const [jobId, report] of this.unsent) this.enqueue(() => this.send(jobId, report));
  }

  /** A job command as it arrived (from this connection, or recorded before attach). */
  receive(payload: Buffer): void {
    this.enqueue(() => this.handle(payload));
  }

  /** Resolves once every command received so far is handled. */
  idle(): Promise<void> {
    return this.queue;
  }

  private enqueue(work: () => Promise<void>): void {
    this.queue = this.queue.then(work).catch((error: unknown) => this.options.onEvent?.('job-ignored', (error as Error).message));
  }

  private async handle(payload: Buffer): Promise<void> {
    const emit = this.options.onEvent ?? (() => undefined);
    let document: JobDocument;
    try {
      document = verifyJobCommand(decodeJobCommand(payload), this.options.trust);
    } catch (error) {
      emit('job-ignored', `job command ignored: ${error instanceof UntrustedReplyError ? error.message : (error as Error).message}`);
      return;
    }
    const { jobId } = document;
    const done = this.finished.get(jobId);
    if (done) return this.send(jobId, done);
    emit('job', jobId);
    const failure = this.options.failJobs ? failJobsReason : await this.carryOut(document);
    const report = encodeJobProgress(
      failure === null ? { jobId, state: 'INSTALLED' } : { jobId, state: 'FAILED', errorMessage: failure.slice(0, jobErrorMessageMaxLength) },
    );
    this.finished.set(jobId, report);
    emit(failure === null ? 'job-installed' : 'job-failed', failure === null ? jobId : `${jobId}: ${failure}`);
    await this.send(jobId, report);
  }

  /** DOWNLOADING, the bundles, the configuration: null when installed, otherwise why not. */
  private async carryOut(document: JobDocument): Promise<string | null> {
    await this.send(document.jobId, encodeJobProgress({ jobId: document.jobId, state: 'DOWNLOADING' }), false);
    const downloaded: { name: string; version: string; content: Buffer }[] = [];
    for (const bundle of document.bundles) {
      let content: Buffer;
      try {
        content = await download(bundle, this.options.timeoutMs);
      } catch (error) {
        return (error as Error).message;
      }
      if (content.length !== bundle.size) return `bundle ${bundle.name}: size ${content.length}, expected ${bundle.size}`;
      if (sha256Hex(content) !== bundle.sha256) return `bundle ${bundle.name}: sha256 does not match the signed job`;
      downloaded.push({ name: bundle.name, version: bundle.version, content });
    }
    // Installed only once everything is there and checked: a failed job leaves the device as it was.
    for (const bundle of downloaded) await this.state.saveBundle(bundle.name, bundle.version, bundle.content);
    if (document.configuration) await this.state.saveConfiguration(document.configuration.content);
    return null;
  }

  /** Publishes a report (QoS 1, its PUBACK awaited). A final one that does not go out is kept for the next connection. */
  private async send(jobId: string, report: Buffer, final = true): Promise<void> {
    const client = this.client;
    if (final) this.unsent.set(jobId, report);
    if (!client?.connected) return;
    try {
      await answerWithin(
        client,
        client.publishAsync(jobProgressTopic(this.options.account, this.clientId), report, { qos: 1 }),
        'PUBACK of the job progress',
        this.options.timeoutMs,
      );
      if (final && this.unsent.get(jobId) === report) this.unsent.delete(jobId);
    } catch (error) {
      this.options.onEvent?.('job-ignored', `job progress not sent: ${(error as Error).message}`);
    }
  }
}
