import { join } from 'node:path';
import type { DeviceCredentials } from './credentials-source.ts';
import { runDevice } from './device-agent.ts';
import { DeviceState } from './device-state.ts';
import { closeWithin } from './mqtt-waits.ts';
import { SharedFiles } from './shared-files.ts';
import { defaultSettings, type AgentSettings } from './settings.ts';
import { summariseLatencies, type LatencySummary } from './statistics.ts';

export interface FleetOptions {
  readonly credentials: readonly DeviceCredentials[];
  /** How many of the credentials to use (default: all). */
  readonly count?: number;
  readonly concurrency: number;
  readonly brokerUrl: string;
  readonly trustedRootPem: string;
  /**
   * Each device keeps its state in stateRoot/{clientId}; the files identical on every device are
   * hard links to one copy in stateRoot/@shared.
   */
  readonly stateRoot: string;
  readonly settings?: Partial<Pick<AgentSettings, 'account-name' | 'timeout' | 'retry-interval' | 'retry-max-attempts' | 'use-csr' | 'ca-authentication'>>;
  readonly onProgress?: (provisioned: number, failed: number) => void;
  /** Stops the fleet: no device starts any more, running ones end at once (counted as stopped). */
  readonly signal?: AbortSignal;
}

export interface FleetSummary {
  readonly requested: number;
  readonly provisioned: number;
  readonly failed: number;
  /** Devices that did not run to their end because the fleet was stopped (signal): those running then and those not started. */
  readonly stopped: number;
  readonly failuresByReason: Readonly<Record<string, number>>;
  readonly durationMs: number;
  readonly devicesPerSecond: number;
  /** From the start of a device's run to its birth message on the account broker. */
  readonly latencyMs: LatencySummary;
}

function deviceSettings(credentials: DeviceCredentials, index: number, options: FleetOptions): AgentSettings {
  return {
    ...defaultSettings,
    ...options.settings,
    'broker-url': options.brokerUrl,
    'client-id': credentials.clientId,
    username: credentials.username,
    password: credentials.password,
    ...(credentials.activationKey ? { 'activation-key': credentials.activationKey } : {}),
    mac: credentials.clientId,
    serial: `SIM-${index}`,
    model: 'agent-sim',
  };
}

/** Reasons without the parts that differ per device, so failures group. */
function reasonKey(reason: string): string {
  return reason.replace(/[0-9a-f]{8}-[0-9a-f-]{27,}/gi, '…').slice(0, 120);
}

/**
 * Resolves when the process has nothing left to do but wait for a promise nothing can settle any
 * more (Node would exit with code 13, silently). Every wait of the agent is bounded, so this is a
 * bug of agent-sim; the fleet then still ends and says where its devices stood.
 */
function whenNothingCanHappen(): { readonly happened: Promise<void>; cancel(): void } {
  let listener = (): void => undefined;
  const happened = new Promise<void>((resolve) => {
    listener = () => resolve();
  });
  process.once('beforeExit', listener);
  return { happened, cancel: () => process.off('beforeExit', listener) };
}

/**
 * Provisions many simulated devices, `concurrency` at a time, and sums up how it went. It always
 * ends: each device's run is bounded by its settings (timeout, retry-interval, retry-max-attempts),
 * and `signal` stops it early.
 */
export async function runFleet(options: FleetOptions): Promise<FleetSummary> {
  const devices = options.credentials.slice(0, options.count ?? options.credentials.length);
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  const fail = (reason: string): void => {
    failed += 1;
    const key = reasonKey(reason);
    failures[key] = (failures[key] ?? 0) + 1;
  };
  let provisioned = 0;
  let failed = 0;
  let stopped = 0;
  let next = 0;
  /** The last step of each device running now. */
  const running = new Map<string, string>();
  const startedAt = Date.now();
  // '@' never appears in a device's directory name (encodeURIComponent escapes it).
  const shared = new SharedFiles(join(options.stateRoot, '@shared'));

  async function worker(): Promise<void> {
    for (;;) {
      if (options.signal?.aborted) return;
      const index = next;
      next += 1;
      const credentials = devices[index];
      if (!credentials) return;
      const state = new DeviceState(join(options.stateRoot, encodeURIComponent(credentials.clientId)), { shared });
      const settings = deviceSettings(credentials, index, options);
      const deviceStart = Date.now();
      running.set(credentials.clientId, 'start');
      try {
        await state.initialise(settings, options.trustedRootPem);
        const result = await runDevice(state, {
          ...(options.signal ? { signal: options.signal } : {}),
          onStep: (step) => running.set(credentials.clientId, step),
        });
        if (result.status === 'online') {
          latencies.push(Date.now() - deviceStart);
          provisioned += 1;
          running.set(credentials.clientId, 'close');
          await closeWithin(result.accountClient, settings.timeout);
        } else if (result.status === 'stopped') {
          stopped += 1;
        } else {
          fail(result.status === 'failed' ? result.reason : 'disabled');
        }
      } catch (error) {
        if (options.signal?.aborted) stopped += 1;
        else fail((error as Error).message);
      }
      running.delete(credentials.clientId);
      options.onProgress?.(provisioned, failed);
    }
  }

  const stuck = whenNothingCanHappen();
  await Promise.race([Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, devices.length)) }, () => worker())), stuck.happened]);
  stuck.cancel();
  for (const step of running.values()) fail(`agent-sim bug: a wait nothing could end, at step ${step}`);
  running.clear();
  stopped += Math.max(0, devices.length - next);
  const durationMs = Date.now() - startedAt;
  return {
    requested: devices.length,
    provisioned,
    failed,
    stopped,
    failuresByReason: failures,
    durationMs,
    devicesPerSecond: provisioned / Math.max(0.001, durationMs / 1000),
    latencyMs: summariseLatencies(latencies),
  };
}
