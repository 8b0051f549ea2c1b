import type { Logger } from '../log/logger.ts';
import type { ProvisionStore } from '../store/types.ts';

/** A broker process silent for this many heartbeat intervals is taken as gone. */
export const missedHeartbeatsBeforeGone = 3;

export interface BrokerLivenessOptions {
  readonly store: Pick<ProvisionStore, 'recordBrokerHeartbeat' | 'listBrokerHeartbeats' | 'deleteBrokerHeartbeat' | 'markBrokerDevicesOffline'>;
  /** This broker process. */
  readonly brokerId: string;
  readonly heartbeatSeconds: number;
  readonly log: Logger;
  readonly now?: () => number;
}

export interface BrokerLiveness {
  /** One heartbeat and one sweep now (also what each tick does). */
  tick(): Promise<void>;
  /** Stops; this process's devices are marked offline and its heartbeat removed. */
  close(): Promise<void>;
}

/**
 * Keeps the registry's online state right when a broker process dies without recording its
 * devices' disconnects (kill -9, a lost machine): every broker process records a heartbeat, and
 * each one sweeps: a process silent for missedHeartbeatsBeforeGone intervals is gone, its online
 * devices are marked offline (those that came back on another process are left alone) and its
 * heartbeat removed. Several processes may sweep at once: marking is idempotent.
 */
export function startBrokerLiveness(options: BrokerLivenessOptions): BrokerLiveness {
  const { store, brokerId, log } = options;
  const now = options.now ?? Date.now;
  const intervalMs = options.heartbeatSeconds * 1000;
  let running: Promise<void> | null = null;

  async function sweep(): Promise<void> {
    const goneBefore = now() - missedHeartbeatsBeforeGone * intervalMs;
    for (const heartbeat of await store.listBrokerHeartbeats()) {
      if (heartbeat.brokerId === brokerId || heartbeat.seenOn >= goneBefore) continue;
      const marked = await store.markBrokerDevicesOffline(heartbeat.brokerId, now());
      await store.deleteBrokerHeartbeat(heartbeat.brokerId);
      log.warn(
        { brokerId: heartbeat.brokerId, silentForMs: now() - heartbeat.seenOn, devicesMarkedOffline: marked },
        'broker process gone: its devices marked offline',
      );
    }
  }

  async function tick(): Promise<void> {
    try {
      await store.recordBrokerHeartbeat(brokerId, now());
      await sweep();
    } catch (error) {
      log.warn({ err: error }, 'broker heartbeat or sweep failed');
    }
  }

  const run = (): void => {
    running ??= tick().finally(() => {
      running = null;
    });
  };
  run();
  const timer = setInterval(run, intervalMs);
  timer.unref();
  return {
    tick,
    async close() {
      clearInterval(timer);
      await running;
      try {
        await store.markBrokerDevicesOffline(brokerId, now());
        await store.deleteBrokerHeartbeat(brokerId);
      } catch (error) {
        log.warn({ err: error }, 'broker heartbeat not removed at shutdown');
      }
    },
  };
}
