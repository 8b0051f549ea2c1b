import type { PlatformConfig } from '../config/config.ts';
import { sweepRenewals, type SettlementDependencies } from '../provisioner/renewal-settlement.ts';

/**
 * The CERT-V1 grace sweep (docs/PROTOCOL.md §13): every PROVISIO_CERTIFICATE_RENEWAL_SWEEP_INTERVAL_SECONDS
 * (the first run at most 5 s after start) it revokes the certificates whose renewal is older than
 * PROVISIO_CERTIFICATE_RENEWAL_GRACE_SECONDS and was never used. It runs in the all-in-one process
 * and in every broker process of a cluster: settling a renewal is idempotent and marked once
 * (store settleRenewal), so several sweeps at once only repeat reads.
 */
export function startRenewalSweep(
  config: Pick<PlatformConfig, 'certificateRenewalGraceSeconds' | 'certificateRenewalSweepIntervalSeconds'>,
  deps: SettlementDependencies,
): { close(): Promise<void> } {
  const log = deps.log.child({ component: 'renewal-sweep' });
  const intervalMs = config.certificateRenewalSweepIntervalSeconds * 1000;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let closed = false;

  function schedule(delayMs: number): void {
    if (closed) return;
    timer = setTimeout(() => {
      running = sweepRenewals({ ...deps, log }, config.certificateRenewalGraceSeconds * 1000)
        .then((settled) => {
          if (settled > 0) log.info({ settled }, 'renewals whose grace ended settled: the certificates they renew are revoked');
        })
        .catch((error: unknown) => log.warn({ err: error }, 'renewal sweep failed; next run at the next interval'))
        .finally(() => {
          running = null;
          schedule(intervalMs);
        });
    }, delayMs);
    timer.unref();
  }

  schedule(Math.min(intervalMs, 5000));
  return {
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
