/**
 * The connect load client spread over worker threads, so that the client is not held to one core
 * by its own TLS handshakes. Each worker takes every `threads`-th connect of a round.
 */
import { Worker } from 'node:worker_threads';
import type { BrokerTarget, ConnectLoadResult, DeviceIdentity } from './connect-load.ts';

const workerModule = new URL('./load-worker.ts', import.meta.url);

export interface LoadRun {
  readonly target: BrokerTarget;
  readonly count: number;
  readonly concurrency: number;
  readonly offset: number;
}

export interface WorkerRequest extends LoadRun {
  readonly share: number;
  readonly threads: number;
}

export class LoadClientPool {
  /** Each worker's answer to the run in progress. */
  private readonly pending = new Map<Worker, { resolve: (result: ConnectLoadResult) => void; reject: (error: Error) => void }>();

  private constructor(private readonly workers: readonly Worker[]) {
    for (const worker of workers) {
      worker.on('message', (result: ConnectLoadResult) => this.settle(worker)?.resolve(result));
      worker.on('error', (error) => this.settle(worker)?.reject(error));
    }
  }

  private settle(worker: Worker) {
    const waiting = this.pending.get(worker);
    this.pending.delete(worker);
    return waiting;
  }

  static async start(threads: number, identities: readonly DeviceIdentity[]): Promise<LoadClientPool> {
    // Node 20 does not hand tsx's loader to workers: the worker registers it, then imports the .ts.
    const entry = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(workerModule.href)}); })`;
    const workers = Array.from({ length: threads }, () => new Worker(entry, { eval: true, workerData: { identities } }));
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            worker.once('online', () => resolve());
            worker.once('error', reject);
          }),
      ),
    );
    return new LoadClientPool(workers);
  }

  /** `count` connect cycles over all workers; the rate is over the whole round's wall time. */
  async run(load: LoadRun): Promise<ConnectLoadResult> {
    const threads = this.workers.length;
    const started = performance.now();
    const parts = await Promise.all(
      this.workers.map(
        (worker, share) =>
          new Promise<ConnectLoadResult>((resolve, reject) => {
            this.pending.set(worker, { resolve, reject });
            const request: WorkerRequest = { ...load, concurrency: Math.max(1, Math.round(load.concurrency / threads)), share, threads };
            worker.postMessage(request);
          }),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const failuresByReason: Record<string, number> = {};
    for (const part of parts) for (const [reason, n] of Object.entries(part.failuresByReason)) failuresByReason[reason] = (failuresByReason[reason] ?? 0) + n;
    const connects = parts.reduce((sum, part) => sum + part.connects, 0);
    return { connects, failures: parts.reduce((sum, part) => sum + part.failures, 0), failuresByReason, seconds, perSecond: connects / seconds };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
