import type { Logger } from '../log/logger.ts';
import type { ProvisionStore } from '../store/types.ts';

/** Once a minute is plenty: an expired code is refused at CONNECT anyway (broker/provisioning-code-authenticator.ts). */
const sweepIntervalMs = 60_000;

export interface ProvisioningCodeSweep {
  close(): Promise<void>;
}

/**
 * Deletes provisioning codes that expired unused (docs/PROTOCOL.md §18: "a code not used within
 * its validity is deleted"), whole records, once a minute. Run where audit retention runs (the
 * all-in-one process, the API processes of a cluster): repeated deletions are harmless.
 */
export function startProvisioningCodeSweep(
  store: Pick<ProvisionStore, 'deleteExpiredProvisioningCodes'>,
  log: Logger,
  intervalMs = sweepIntervalMs,
): ProvisioningCodeSweep {
  const sweepLog = log.child({ component: 'provisioning-code-sweep' });
  let running: Promise<void> | null = null;
  const sweep = (): void => {
    if (running) return;
    running = store
      .deleteExpiredProvisioningCodes(Date.now())
      .then(
        (deleted) => {
          if (deleted > 0) sweepLog.info({ deleted }, 'expired provisioning codes deleted');
        },
        (error: unknown) => sweepLog.warn({ err: error }, 'expired provisioning codes not deleted; next try in a minute'),
      )
      .finally(() => {
        running = null;
      });
  };
  const first = setTimeout(sweep, Math.min(intervalMs, 5_000));
  const timer = setInterval(sweep, intervalMs);
  first.unref();
  timer.unref();
  return {
    async close() {
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}
