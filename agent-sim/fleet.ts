import { join } from 'node:path';
import type { DeviceCredentials } from './credentials-source.ts';
import type { FactoryDevice } from './factory-credentials.ts';
import { runDevice } from './device-agent.ts';
import { DeviceState } from './device-state.ts';
import { closeWithin } from './mqtt-waits.ts';
import { recordEarlyMessages, stayOnline, type EarlyMessages, type OnlineReport } from './online-session.ts';
import { SharedFiles } from './shared-files.ts';
import { defaultSettings, type AgentSettings } from './settings.ts';
import { summariseLatencies, type LatencySummary } from './statistics.ts';

export interface FleetOptions {
  /** Each device's provisioning credentials: a user name and password (a provisioning code is one), or a factory certificate. */
  readonly credentials: readonly (DeviceCredentials | FactoryDevice)[];
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
  readonly settings?: Partial<
    Pick<AgentSettings, 'account-name' | 'timeout' | 'retry-interval' | 'retry-max-attempts' | 'use-csr' | 'ca-authentication' | 'discovery-url'>
  >;
  readonly onProgress?: (provisioned: number, failed: number, renewals?: RenewalProgress) => void;
  /**
   * Each device stays on its account broker after its birth, renewing its certificate (CERT-V1),
   * until it has renewed `renewals` times or `durationMs` have passed since its birth, whichever
   * comes first; `concurrency` then bounds only the provisioning. Unset: it leaves at once.
   */
  readonly stayOnline?: {
    readonly renewals?: number;
    readonly durationMs?: number;
    readonly jitterMaxMs?: number;
    readonly failJobs?: boolean;
    readonly refuseConfigurations?: boolean;
  };
  /** Stops the fleet: no device starts any more, running ones end at once (counted as stopped). */
  readonly signal?: AbortSignal;
}

export interface RenewalProgress {
  readonly renewed: number;
  readonly failed: number;
}

/** How the devices that stayed online renewed (present when the fleet ran with stayOnline). */
export interface RenewalSummary {
  /** Certificates renewed, summed over the devices. */
  readonly renewed: number;
  /** Renewal attempts that failed (each is retried by the protocol's rules), by reason. */
  readonly failed: number;
  readonly failuresByReason: Readonly<Record<string, number>>;
  /** From a renewal's first request to the birth on the new certificate. */
  readonly latencyMs: LatencySummary;
  /** Certificates the account broker refused (a CONNACK other than 0 and 3, or a TLS alert). */
  readonly refused: number;
  /** Connections made again after one was lost or an attempt to connect failed. */
  readonly reconnects: number;
  /** Devices sent back to the provision broker (an expired or refused certificate). */
  readonly reprovisioned: number;
  /** Roots learnt from renewal results during a root rollover, summed over the devices. */
  readonly rootsLearnt: number;
  /** Devices that left with fewer renewals than asked for, or could not stay online. */
  readonly devicesShort: number;
}

export interface FleetSummary {
  readonly requested: number;
  readonly provisioned: number;
  readonly failed: number;
  /** Devices that did not run to their end because the fleet was stopped (signal): those running then and those not started. */
  readonly stopped: number;
  readonly failuresByReason: Readonly<Record<string, number>>;
  readonly durationMs: number;
  /** Provisioned devices per second of the provisioning (the time devices stayed online after it not counted). */
  readonly devicesPerSecond: number;
  /** From the start of a device's run to its birth message on the account broker. */
  readonly latencyMs: LatencySummary;
  readonly renewals?: RenewalSummary;
}

function deviceSettings(credentials: DeviceCredentials | FactoryDevice, index: number, options: FleetOptions): AgentSettings {
  return {
    ...defaultSettings,
    ...options.settings,
    'broker-url': options.brokerUrl,
    'client-id': credentials.clientId,
    // A device with a factory certificate sends neither (PROTOCOL.md §17).
    username: 'factory' in credentials ? '' : credentials.username,
    password: 'factory' in credentials ? '' : credentials.password,
    ...('activationKey' in credentials && credentials.activationKey ? { 'activation-key': credentials.activationKey } : {}),
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
        await state.initialise(settings, options.trustedRootPem, 'factory' in credentials ? credentials.factory : undefined);
        let early: EarlyMessages | undefined;
        const result = await runDevice(state, {
          ...(options.signal ? { signal: options.signal } : {}),
          onStep: (step) => running.set(credentials.clientId, step),
          ...(options.stayOnline ? { onAccountConnected: (client) => void (early = recordEarlyMessages(client)) } : {}),
        });
        if (result.status === 'online') {
          latencies.push(Date.now() - deviceStart);
          provisioned += 1;
          if (options.stayOnline) {
            staying.push(keepOnline(state, result.accountClient, early));
          } else {
            running.set(credentials.clientId, 'close');
            await closeWithin(result.accountClient, settings.timeout);
          }
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

  /** The devices staying online (stayOnline), each until its renewals are done or its time is up. */
  const staying: Promise<void>[] = [];
  const renewalReasons: Record<string, number> = {};
  const renewal = { renewed: 0, failed: 0, refused: 0, reconnects: 0, reprovisioned: 0, rootsLearnt: 0, devicesShort: 0, latencies: [] as number[] };
  async function keepOnline(state: DeviceState, client: Parameters<typeof stayOnline>[1], early: EarlyMessages | undefined): Promise<void> {
    const stay = options.stayOnline!;
    let report: OnlineReport;
    try {
      report = await stayOnline(state, client, {
        ...(stay.renewals !== undefined ? { renewals: stay.renewals } : {}),
        ...(stay.durationMs !== undefined ? { until: Date.now() + stay.durationMs } : {}),
        ...(stay.jitterMaxMs !== undefined ? { jitterMaxMs: stay.jitterMaxMs } : {}),
        ...(stay.failJobs ? { failJobs: true } : {}),
        ...(stay.refuseConfigurations ? { refuseConfigurations: true } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(early ? { early } : {}),
        onEvent: (event) => {
          if (event === 'renewed') renewal.renewed += 1;
          else if (event === 'renewal-failed' || event === 'fallback') renewal.failed += 1;
          else return;
          options.onProgress?.(provisioned, failed, { renewed: renewal.renewed, failed: renewal.failed });
        },
      });
    } catch (error) {
      report = {
        status: 'failed',
        reason: (error as Error).message,
        renewed: 0,
        renewalFailures: [],
        renewalLatenciesMs: [],
        refused: 0,
        reconnects: 0,
        reprovisioned: 0,
        rootsLearnt: 0,
      };
    }
    for (const reason of report.renewalFailures) {
      const key = reasonKey(reason);
      renewalReasons[key] = (renewalReasons[key] ?? 0) + 1;
    }
    renewal.latencies.push(...report.renewalLatenciesMs);
    renewal.refused += report.refused;
    renewal.reconnects += report.reconnects;
    renewal.reprovisioned += report.reprovisioned;
    renewal.rootsLearnt += report.rootsLearnt;
    const short = report.status === 'failed' || (stay.renewals !== undefined && report.renewed < stay.renewals);
    if (short && report.status !== 'stopped') renewal.devicesShort += 1;
  }

  const stuck = whenNothingCanHappen();
  await Promise.race([Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, devices.length)) }, () => worker())), stuck.happened]);
  const provisioningMs = Date.now() - startedAt;
  await Promise.race([Promise.all(staying), stuck.happened]);
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
    devicesPerSecond: provisioned / Math.max(0.001, provisioningMs / 1000),
    latencyMs: summariseLatencies(latencies),
    ...(options.stayOnline
      ? {
          renewals: {
            renewed: renewal.renewed,
            failed: renewal.failed,
            failuresByReason: renewalReasons,
            latencyMs: summariseLatencies(renewal.latencies),
            refused: renewal.refused,
            reconnects: renewal.reconnects,
            reprovisioned: renewal.reprovisioned,
            rootsLearnt: renewal.rootsLearnt,
            devicesShort: renewal.devicesShort,
          },
        }
      : {}),
  };
}
