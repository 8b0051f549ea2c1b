import { join } from 'node:path';
import type { DeviceCredentials } from './credentials-source.ts';
import { runDevice } from './device-agent.ts';
import { DeviceState } from './device-state.ts';
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
}

export interface FleetSummary {
  readonly requested: number;
  readonly provisioned: number;
  readonly failed: number;
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

/** Provisions many simulated devices, `concurrency` at a time, and sums up how it went. */
export async function runFleet(options: FleetOptions): Promise<FleetSummary> {
  const devices = options.credentials.slice(0, options.count ?? options.credentials.length);
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let provisioned = 0;
  let failed = 0;
  let next = 0;
  const startedAt = Date.now();
  // '@' never appears in a device's directory name (encodeURIComponent escapes it).
  const shared = new SharedFiles(join(options.stateRoot, '@shared'));

  async function worker(): Promise<void> {
    for (;;) {
      const index = next;
      next += 1;
      const credentials = devices[index];
      if (!credentials) return;
      const state = new DeviceState(join(options.stateRoot, encodeURIComponent(credentials.clientId)), { shared });
      const deviceStart = Date.now();
      try {
        await state.initialise(deviceSettings(credentials, index, options), options.trustedRootPem);
        const result = await runDevice(state);
        if (result.status === 'online') {
          latencies.push(Date.now() - deviceStart);
          provisioned += 1;
          await result.accountClient.endAsync();
        } else {
          failed += 1;
          const key = result.status === 'failed' ? reasonKey(result.reason) : 'disabled';
          failures[key] = (failures[key] ?? 0) + 1;
        }
      } catch (error) {
        failed += 1;
        const key = reasonKey((error as Error).message);
        failures[key] = (failures[key] ?? 0) + 1;
      }
      options.onProgress?.(provisioned, failed);
    }
  }

  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, devices.length)) }, () => worker()));
  const durationMs = Date.now() - startedAt;
  return {
    requested: devices.length,
    provisioned,
    failed,
    failuresByReason: failures,
    durationMs,
    devicesPerSecond: provisioned / Math.max(0.001, durationMs / 1000),
    latencyMs: summariseLatencies(latencies),
  };
}
