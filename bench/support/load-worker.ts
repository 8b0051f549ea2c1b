/** A load-client worker thread (see load-pool.ts): runs its share of each round it is sent. */
import { parentPort, workerData } from 'node:worker_threads';
import { runConnectLoad, type DeviceIdentity } from './connect-load.ts';
import type { WorkerRequest } from './load-pool.ts';

const { identities } = workerData as { identities: DeviceIdentity[] };

parentPort?.on('message', (request: WorkerRequest) => {
  // This worker's connects are request indices share, share + threads, …
  const mine: DeviceIdentity[] = [];
  for (let index = request.share; index < request.count; index += request.threads) {
    mine.push(identities[(request.offset + index) % identities.length]!);
  }
  runConnectLoad({ target: request.target, identities: mine, count: mine.length, concurrency: request.concurrency }).then(
    (result) => parentPort?.postMessage(result),
    (error: unknown) => {
      throw error;
    },
  );
});
