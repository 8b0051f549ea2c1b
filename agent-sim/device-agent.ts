import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { connectToAccountBroker } from './account-session.ts';
import type { DeviceState } from './device-state.ts';
import { followAccountBroker, provisionBrokerFromDiscovery } from './discovery-step.ts';
import { makeDeviceKey, provisionAttempt, worthAnotherBroker, type Step } from './provisioning-flow.ts';

export type DeviceRunResult =
  | { readonly status: 'online'; readonly accountClient: MqttClient; readonly attempts: number; readonly provisionedNow: boolean }
  | { readonly status: 'failed'; readonly reason: string; readonly attempts: number }
  | { readonly status: 'disabled'; readonly attempts: 0 }
  /** The signal was aborted (SIGINT, SIGTERM): the run ended where it was, its connection dropped. */
  | { readonly status: 'stopped'; readonly attempts: number };

export interface RunDeviceOptions {
  readonly factoryReset?: boolean;
  /**
   * Hears each step: 'factory-reset' with what it removed, 'discovery' with what cloud discovery
   * answered (PROTOCOL.md §19), the provisioning steps, 'account' when it goes to its account broker.
   */
  readonly onStep?: (step: Step | 'retry' | 'account' | 'reprovision' | 'factory-reset' | 'discovery', detail?: string) => void;
  /** Stops the run: the wait in progress ends at once and the result is `stopped`. */
  readonly signal?: AbortSignal;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Provisioning again after the certificate expired (CERT-V1): the provision request stays
   * refused (CONNACK 5) until an operator re-enables it, so every refused CONNECT is retried with
   * back-off, without limit (until `signal`).
   */
  readonly reprovision?: boolean;
  /** Sees the account-broker connection at CONNACK, before anything can arrive on it. */
  readonly onAccountConnected?: (client: MqttClient) => void;
}

const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    // Aborted already (by an onStep listener, say): an 'abort' event will not come again.
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    // The listener goes with the sleep: a device retrying many times on one signal would pile them up.
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** CONNACK 4 back-off (PROTOCOL.md §2): retry-interval, doubled after each refusal, up to this. */
export const badCredentialsMaxWaitMs = 300_000;

/** The wait before the next attempt after `streak` CONNACK 4 answers in a row. */
export function badCredentialsWaitMs(retryIntervalMs: number, streak: number): number {
  return Math.min(retryIntervalMs * 2 ** Math.max(0, streak - 1), Math.max(badCredentialsMaxWaitMs, retryIntervalMs));
}

/**
 * One device's life: provisioned already → straight to the account broker; otherwise provision
 * (retrying every retry-interval up to retry-max-attempts, -1 = forever), remember it like
 * ESF does (provisioned=true, enabled=false), then go to the account broker. Every wait of an
 * attempt ends within `timeout` (CONNACK, SUBACK, PUBACK, reply, each bundle download), so the
 * run ends within its retry budget; it throws when the account broker cannot be reached or does
 * not acknowledge the birth within retry-max-attempts.
 */
export async function runDevice(state: DeviceState, options: RunDeviceOptions = {}): Promise<DeviceRunResult> {
  const sleep = options.sleep ?? defaultSleep;
  let settings = await state.settings();
  if (options.factoryReset) {
    const reset = await state.factoryReset(settings);
    settings = reset.settings;
    options.onStep?.('factory-reset', reset.removed.length > 0 ? `removed ${reset.removed.join(', ')}` : 'nothing to remove');
  }
  let reprovision = options.reprovision === true;
  // An expired certificate cannot renew on the account broker (CERT-V1): back to the provision
  // broker with the credentials it was provisioned with, as on first boot.
  if (settings.provisioned && (await certificateExpired(state))) {
    settings = { ...settings, provisioned: false, enabled: true };
    await state.saveSettings(settings);
    reprovision = true;
    options.onStep?.('reprovision', 'the certificate has expired');
  }

  let attempts = 0;
  let provisionedNow = false;
  if (!settings.provisioned) {
    if (!settings.enabled) return { status: 'disabled', attempts: 0 };
    const trustedRootPem = await state.trustedRoot();
    const factory = await state.factoryCredentials();
    let provisionSettings = settings;
    if (settings['discovery-url']) {
      const choice = await provisionBrokerFromDiscovery(state, settings, factory, {
        forever: reprovision,
        sleep,
        ...(options.signal ? { signal: options.signal } : {}),
        note: (detail) => options.onStep?.('discovery', detail),
      });
      if (choice.status === 'stopped') return { status: 'stopped', attempts };
      if (choice.status === 'failed') return { status: 'failed', reason: choice.reason, attempts };
      provisionSettings = { ...settings, 'broker-url': choice.brokerUrl };
    }
    let requestId = randomUUID();
    let badCredentialsStreak = 0;
    const deviceKey = settings['use-csr'] ? makeDeviceKey() : null;
    let installedEarlier = false;
    for (;;) {
      if (options.signal?.aborted) return { status: 'stopped', attempts };
      attempts += 1;
      const outcome = await provisionAttempt({
        settings: provisionSettings,
        state,
        factory,
        trustedRootPem,
        learntRootPems: state.learntRoots(),
        requestId,
        deviceKey,
        ...(options.onStep ? { onStep: options.onStep } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (outcome.status === 'provisioned') break;
      // The answer to the completion report was lost and now the credentials are refused: the
      // report was recorded (PROTOCOL.md §11). The account broker decides whether the certificate is good.
      if (installedEarlier && outcome.reason.startsWith('CONNACK 4')) break;
      installedEarlier ||= outcome.installed === true;
      if (options.signal?.aborted) return { status: 'stopped', attempts };
      const maxAttempts = reprovision ? -1 : settings['retry-max-attempts'];
      if (outcome.fatal || (maxAttempts !== -1 && attempts >= maxAttempts)) {
        return { status: 'failed', reason: outcome.reason, attempts };
      }
      // 422: the platform refuses this request.id for the key we hold; a new one is a new attempt.
      if (outcome.newRequestId) requestId = randomUUID();
      const backOff = outcome.badCredentials || (reprovision && outcome.notAuthorized === true);
      badCredentialsStreak = backOff ? badCredentialsStreak + 1 : 0;
      const waitMs = backOff ? badCredentialsWaitMs(settings['retry-interval'], badCredentialsStreak) : (outcome.waitMs ?? settings['retry-interval']);
      options.onStep?.('retry', outcome.reason);
      await sleep(waitMs, options.signal);
    }
    settings = { ...settings, provisioned: true, enabled: false };
    await state.saveSettings(settings);
    provisionedNow = true;
  }
  if (!provisionedNow && settings['discovery-url']) {
    await followAccountBroker(state, settings, options.signal, (detail) => options.onStep?.('discovery', detail));
  }
  options.onStep?.('account');
  // The account broker may be briefly unavailable (CONNACK 3, refused connection): retry like provisioning.
  for (let accountAttempt = 1; ; accountAttempt += 1) {
    if (options.signal?.aborted) return { status: 'stopped', attempts };
    try {
      const accountClient = await connectToAccountBroker(state, settings, options.signal, options.onAccountConnected);
      return { status: 'online', accountClient, attempts, provisionedNow };
    } catch (error) {
      if (options.signal?.aborted) return { status: 'stopped', attempts };
      const retryable = worthAnotherBroker(error);
      const maxAttempts = reprovision ? -1 : settings['retry-max-attempts'];
      if (!retryable || (maxAttempts !== -1 && accountAttempt >= maxAttempts)) throw error;
      options.onStep?.('retry', (error as Error).message);
      await sleep(settings['retry-interval'], options.signal);
    }
  }
}

/** Has the certificate in use expired (its renewal.notAfter, or its own notAfter, passed)? False when the device holds none. */
async function certificateExpired(state: DeviceState): Promise<boolean> {
  try {
    return (await state.accountCredentials()).renewal.notAfter <= Date.now();
  } catch {
    return false;
  }
}
