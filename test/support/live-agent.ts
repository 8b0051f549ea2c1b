import { join } from 'node:path';
import type { DeviceCredentials } from '../../agent-sim/credentials-source.ts';
import { runDevice } from '../../agent-sim/device-agent.ts';
import { DeviceState } from '../../agent-sim/device-state.ts';
import { closeWithin } from '../../agent-sim/mqtt-waits.ts';
import { recordEarlyMessages, stayOnline, type EarlyMessages, type OnlineEvent, type OnlineReport } from '../../agent-sim/online-session.ts';
import { defaultSettings, type AgentSettings } from '../../agent-sim/settings.ts';

/**
 * Single agent-sim devices beside a fleet, for the scenarios where a few devices must behave
 * otherwise (refuse configurations, fail jobs) or be offline at a chosen moment: each keeps its
 * flash under a directory the test owns (and removes), and is driven in-process over real sockets.
 */
export interface LiveAgent {
  readonly clientId: string;
  readonly state: DeviceState;
  /** What stayOnline reported, in order (configuration-applied, job-failed, …). */
  readonly events: { event: OnlineEvent; detail?: string }[];
  /** Ends its stay online (DISCONNECT) and answers how it went. */
  leave(): Promise<OnlineReport>;
}

/** A factory-fresh device for batch credentials, its flash in root/{clientId}. */
export async function factoryFreshDevice(
  root: string,
  credentials: DeviceCredentials,
  platform: { readonly provisionBrokerUrl: string; readonly rootPem: string },
  facts: Partial<Pick<AgentSettings, 'model' | 'firmware' | 'serial'>> = {},
): Promise<DeviceState> {
  const state = new DeviceState(join(root, encodeURIComponent(credentials.clientId)));
  await state.initialise(
    {
      ...defaultSettings,
      'broker-url': platform.provisionBrokerUrl,
      'client-id': credentials.clientId,
      username: credentials.username,
      password: credentials.password,
      ...(credentials.activationKey ? { 'activation-key': credentials.activationKey } : {}),
      mac: credentials.clientId,
      serial: `SN-${credentials.clientId}`,
      timeout: 10_000,
      'retry-interval': 500,
      ...facts,
    },
    platform.rootPem,
  );
  return state;
}

/**
 * Provisions the device (or reconnects it) and disconnects after its birth: provisioned, then
 * offline. `beforeLeaving` runs while it is connected (waiting for the registry to record the birth, say).
 */
export async function connectOnceAndLeave(state: DeviceState, beforeLeaving?: () => Promise<unknown>): Promise<void> {
  const result = await runDevice(state);
  if (result.status !== 'online') throw new Error(`${state.directory}: not online (${result.status === 'failed' ? result.reason : result.status})`);
  try {
    await beforeLeaving?.();
  } finally {
    await closeWithin(result.accountClient, 10_000);
  }
}

/** Provisions the device if it is not yet, connects it to its account broker and keeps it there until leave(). */
export async function stayOnlineUntilLeft(
  clientId: string,
  state: DeviceState,
  options: { readonly failJobs?: boolean; readonly refuseConfigurations?: boolean } = {},
): Promise<LiveAgent> {
  let early: EarlyMessages | undefined;
  const result = await runDevice(state, { onAccountConnected: (client) => void (early = recordEarlyMessages(client)) });
  if (result.status !== 'online') throw new Error(`${clientId}: not online (${result.status === 'failed' ? result.reason : result.status})`);
  const events: LiveAgent['events'] = [];
  const stop = new AbortController();
  const staying = stayOnline(state, result.accountClient, {
    signal: stop.signal,
    ...(early ? { early } : {}),
    ...(options.failJobs ? { failJobs: true } : {}),
    ...(options.refuseConfigurations ? { refuseConfigurations: true } : {}),
    onEvent: (event, detail) => void events.push({ event, ...(detail !== undefined ? { detail } : {}) }),
  });
  return {
    clientId,
    state,
    events,
    leave: () => {
      stop.abort();
      return staying;
    },
  };
}
