import type { MqttClient } from 'mqtt';
import { decodeRenewNow, renewNowTopic } from '../protocol/renewal.ts';
import { jobCommandTopic } from '../protocol/jobs.ts';
import { configurationPushTopic } from '../protocol/topics.ts';
import { connectToAccountBroker, publishBirth } from './account-session.ts';
import { runDevice } from './device-agent.ts';
import type { DeviceState, RenewalWindow } from './device-state.ts';
import { JobExchange, type JobEvent } from './job-exchange.ts';
import { ConfigurationExchange, type ConfigurationEvent } from './configuration-exchange.ts';
import { closeWithin, dropConnection } from './mqtt-waits.ts';
import { AccountSession, renewalAttempt } from './renewal-exchange.ts';
import { verifyRenewNow } from './reply-verification.ts';
import { learnNextRoot, trustedRootFingerprints } from './root-learning.ts';

/** What a device online on its account broker reports, for the progress line and the summary. */
export type OnlineEvent =
  | 'renew'
  | 'renew-ignored'
  | 'renewed'
  | 'renewal-failed'
  | 'renew-now'
  | 'fallback'
  | 'connection-lost'
  | 'reconnected'
  | 'refused'
  | 'reprovision'
  | 'reprovisioned'
  /** A renewal result's `trust` named a new root and the device now trusts it (PROTOCOL.md §7, "A new root"); or refused it, with why. */
  | 'root-learnt'
  | 'root-refused'
  | JobEvent
  | ConfigurationEvent;

export interface StayOnlineOptions {
  /** Leave (DISCONNECT) after this many renewals; unset: no limit. */
  readonly renewals?: number;
  /** Leave at this moment (ms since the epoch); unset: only `renewals` or `signal` end the stay. */
  readonly until?: number;
  /** The longest jitter of the renewal moment, in ms (default: the protocol's half of the window after renewal.after). */
  readonly jitterMaxMs?: number;
  /** Report every update job FAILED ('refused by --fail-jobs'), to test the platform's failure path. */
  readonly failJobs?: boolean;
  /** Answer every configuration push REFUSED ('refused by --refuse-configurations'), to test the platform's refusal path. */
  readonly refuseConfigurations?: boolean;
  /** Stops: the connection is dropped, the report says `stopped`. */
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: OnlineEvent, detail?: string) => void;
  /** What the first connection received before this took it over (recordEarlyMessages). */
  readonly early?: EarlyMessages;
}

export interface OnlineReport {
  /** left: by `renewals` or `until`; stopped: by `signal`; failed: the device could not stay (reason). */
  readonly status: 'left' | 'stopped' | 'failed';
  readonly reason?: string;
  readonly renewed: number;
  /** Failed renewal attempts (each is retried by the protocol's rules), by reason. */
  readonly renewalFailures: readonly string[];
  /** From a renewal's first request to the birth on the new certificate. */
  readonly renewalLatenciesMs: readonly number[];
  /** Times the account broker refused a certificate (a CONNACK other than 0 and 3, or a TLS alert). */
  readonly refused: number;
  /** Connections made again after the connection was lost or an attempt to connect failed (the platform restarted, say). */
  readonly reconnects: number;
  /** Times the device went back to the provision broker (its certificate expired or was refused). */
  readonly reprovisioned: number;
  /** Roots learnt from renewal results (a root rollover). */
  readonly rootsLearnt: number;
}

/** A refusal of the certificate: CONNACK 1, 2, 4 or 5, or a TLS alert. Not a broker down or unreachable (CONNACK 3, refused connection). */
function isRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'number') return code !== 3;
  return /alert|certificate/i.test((error as Error).message ?? '');
}

/** Refusals in a row, without a previous pair to fall back to, after which the device provisions again. */
const refusalsBeforeReprovisioning = 3;

/** A random moment between renewal.after and after + (notAfter − after) / 2, the jitter at most jitterMaxMs. */
export function renewalMoment(window: RenewalWindow, jitterMaxMs = Number.POSITIVE_INFINITY, random = Math.random): number {
  const span = Math.max(0, Math.min((window.notAfter - window.after) / 2, jitterMaxMs));
  return window.after + Math.floor(random() * span);
}

type Wake = 'time' | 'closed' | 'stop' | 'renew-now';

/**
 * Keeps a device on its account broker: renews its certificate when due (CERT-V1) or when told
 * to (PUT/renew), connects again when the connection is lost, falls back to the previous pair
 * when the account broker refuses a new certificate, and provisions again when its certificate
 * has expired or keeps being refused. Every wait is bounded by `timeout`, `until` and `signal`.
 */
export async function stayOnline(state: DeviceState, firstClient: MqttClient, options: StayOnlineOptions = {}): Promise<OnlineReport> {
  const settings = await state.settings();
  const trustedRootPem = await state.trustedRoot();
  // learntRoots() is the state's own array: a root learnt below is trusted at once by everything holding `trust`.
  const trust = { trustedRootPem, learntRootPems: state.learntRoots(), caAuthentication: settings['ca-authentication'] };
  const emit = options.onEvent ?? (() => undefined);
  const until = options.until ?? Number.POSITIVE_INFINITY;
  const stopSignals = [options.signal, Number.isFinite(until) ? AbortSignal.timeout(Math.max(0, until - Date.now())) : undefined].filter(
    (signal): signal is AbortSignal => signal !== undefined,
  );
  const stop = stopSignals.length > 0 ? AbortSignal.any(stopSignals) : undefined;
  const report = {
    renewed: 0,
    renewalFailures: [] as string[],
    renewalLatenciesMs: [] as number[],
    refused: 0,
    reconnects: 0,
    reprovisioned: 0,
    rootsLearnt: 0,
  };
  const end = (status: OnlineReport['status'], reason?: string): OnlineReport => ({ status, ...(reason ? { reason } : {}), ...report });

  let wake: ((why: Wake) => void) | null = null;
  let renewNowAt: number | null = null;
  const onRenewNow = (payload: Buffer): void => {
    try {
      const command = decodeRenewNow(payload);
      verifyRenewNow(command, { ...trust, clientId: settings['client-id'] });
      const at = Date.now() + Math.floor(Math.random() * command.renewWithinSeconds * 1000);
      renewNowAt = Math.min(renewNowAt ?? at, at);
      emit('renew-now', command.requestId);
      wake?.('renew-now');
    } catch (error) {
      emit('renew-ignored', `renew-now command ignored: ${(error as Error).message}`);
    }
  };
  // Update jobs (JOB-V1) are carried out beside renewals, in the order they come.
  const jobs = new JobExchange(state, {
    trust: { ...trust, clientId: settings['client-id'] },
    account: state.accountNext().account,
    timeoutMs: settings.timeout,
    failJobs: options.failJobs === true,
    onEvent: emit,
  });
  // Configuration pushes (CONF-V1): applied (or refused) and answered, then a birth with the new hash.
  const configurations = new ConfigurationExchange(state, {
    trust: { ...trust, clientId: settings['client-id'] },
    account: state.accountNext().account,
    timeoutMs: settings.timeout,
    refuseConfigurations: options.refuseConfigurations === true,
    publishBirth: async (client, hash) => publishBirth(client, state.accountNext(), settings, hash, await trustedRootFingerprints(state)),
    onEvent: emit,
  });
  const attach = (client: MqttClient): AccountSession => {
    jobs.attach(client);
    configurations.attach(client);
    return new AccountSession(client, state.accountNext().account, settings['client-id'], onRenewNow);
  };

  let session: AccountSession | null = attach(firstClient);
  for (const early of options.early?.stop() ?? []) {
    if (early.topic === renewNowTopic(state.accountNext().account, settings['client-id'])) onRenewNow(early.payload);
    if (early.topic === jobCommandTopic(state.accountNext().account, settings['client-id'])) jobs.receive(early.payload);
    if (early.topic === configurationPushTopic(state.accountNext().account, settings['client-id'])) configurations.receive(early.payload);
  }
  let credentials = await state.accountCredentials();
  if (credentials.unconfirmed) await state.confirmCurrentPair();
  let renewAt = renewalMoment(credentials.renewal, options.jitterMaxMs);
  /** Set after a give-up: renew no more until told to (renew now) or a new certificate. */
  let renewingStopped = false;
  let retryAt: number | null = state.pendingRenewal() ? Date.now() : null;
  let refusalStreak = 0;

  /** Connects with the current pair; a refusal of a pair not yet confirmed falls back to the previous one. */
  async function connect(): Promise<AccountSession | null> {
    let made: AccountSession | null = null;
    const client = await connectToAccountBroker(state, settings, stop, (connected) => {
      made = attach(connected);
    });
    return made ?? attach(client);
  }

  /**
   * Until connected again, or stopped; provisions again when the certificate expired or keeps
   * being refused. Counts a reconnection when the connection was lost (`lost`) or an attempt failed.
   */
  async function reconnect(lost: boolean): Promise<AccountSession | null> {
    let failed = false;
    for (;;) {
      if (stop?.aborted) return null;
      credentials = await state.accountCredentials();
      if (credentials.renewal.notAfter <= Date.now() || refusalStreak >= refusalsBeforeReprovisioning) {
        const provisioned = await reprovision(credentials.renewal.notAfter <= Date.now() ? 'certificate expired' : 'certificate refused');
        if (provisioned) return provisioned;
        return null;
      }
      try {
        const made = await connect();
        refusalStreak = 0;
        if (credentials.unconfirmed) await state.confirmCurrentPair();
        if (lost || failed) {
          report.reconnects += 1;
          emit('reconnected');
        }
        return made;
      } catch (error) {
        if (stop?.aborted) return null;
        failed = true;
        if (isRefusal(error)) {
          report.refused += 1;
          emit('refused', (error as Error).message);
          if (await state.fallBackToPreviousPair()) {
            emit('fallback', (error as Error).message);
            report.renewalFailures.push(`new certificate refused: ${(error as Error).message}`);
            retryAt = Date.now() + settings['retry-interval'];
            continue;
          }
          refusalStreak += 1;
        }
        await sleepUntil(Date.now() + settings['retry-interval'], stop);
      }
    }
  }

  /** Back to the provision broker with the credentials it was provisioned with (a new request.id), until an operator lets it. */
  async function reprovision(why: string): Promise<AccountSession | null> {
    emit('reprovision', why);
    const current = await state.settings();
    await state.saveSettings({ ...current, provisioned: false, enabled: true });
    let made: AccountSession | null = null;
    const result = await runDevice(state, {
      reprovision: true,
      ...(stop ? { signal: stop } : {}),
      onAccountConnected: (client) => {
        made = attach(client);
      },
    }).catch((error: unknown) => ({ status: 'failed' as const, reason: (error as Error).message, attempts: 0 }));
    if (result.status !== 'online') return null;
    report.reprovisioned += 1;
    refusalStreak = 0;
    emit('reprovisioned');
    return made ?? attach(result.accountClient);
  }

  try {
    for (;;) {
      if (stop?.aborted) return end(options.signal?.aborted ? 'stopped' : 'left');
      if (options.renewals !== undefined && report.renewed >= options.renewals) return end('left');
      if (!session) {
        session = await reconnect(true);
        if (!session) return end(options.signal?.aborted ? 'stopped' : stop?.aborted ? 'left' : 'failed', 'could not get back to the account broker');
        credentials = await state.accountCredentials();
        continue;
      }
      const dueAt = Math.min(retryAt ?? Number.POSITIVE_INFINITY, renewNowAt ?? Number.POSITIVE_INFINITY, renewingStopped ? Number.POSITIVE_INFINITY : renewAt);
      const why = await waitFor(dueAt, session.client, stop, (resolve) => (wake = resolve));
      wake = null;
      if (why === 'stop') continue;
      if (why === 'time' && Date.now() < dueAt) continue; // a wait longer than setTimeout holds
      if (why === 'renew-now') {
        renewingStopped = false;
        continue;
      }
      if (why === 'closed') {
        emit('connection-lost');
        dropConnection(session.client);
        session = null;
        continue;
      }
      // Due: one renewal attempt.
      renewNowAt = null;
      const outcome = await renewalAttempt(session, state, settings, trust, emit);
      if (outcome.status === 'failed') {
        report.renewalFailures.push(outcome.reason);
        emit('renewal-failed', outcome.reason);
        if (outcome.action === 'give-up') {
          renewingStopped = true;
          retryAt = null;
        } else {
          // Up to twice the wait: devices told to come back in one second do not all come back in the same millisecond.
          const waitMs = outcome.waitMs ?? settings['retry-interval'];
          retryAt = Date.now() + waitMs + Math.floor(Math.random() * waitMs);
        }
        if (!session.client.connected) {
          dropConnection(session.client);
          session = null;
        }
        continue;
      }
      retryAt = null;
      // A new root first: a power cut after it leaves the old pair in use and the root learnt, which is harmless.
      const learning = await learnNextRoot(state, outcome.result.trust);
      if (learning.kind === 'learnt') {
        report.rootsLearnt += 1;
        emit('root-learnt', learning.fingerprint);
      } else if (learning.kind === 'refused') emit('root-refused', learning.reason);
      const pair = await state.installRenewal(outcome.result, outcome.pending.keyPem);
      // Over to the new certificate: goodbye with the old one, then CONNECT with the new one.
      await closeWithin(session.client, settings.timeout);
      session = null;
      session = await reconnect(false);
      credentials = await state.accountCredentials();
      if (!session) continue;
      if (credentials.pair === pair) {
        report.renewed += 1;
        report.renewalLatenciesMs.push(Date.now() - outcome.pending.startedAt);
        emit('renewed', pair);
      }
      renewingStopped = false;
      renewAt = renewalMoment(credentials.renewal, options.jitterMaxMs);
    }
  } finally {
    if (session) await closeWithin(session.client, settings.timeout);
  }
}

/** Messages that arrive on a new account-broker connection before stayOnline takes it over (a renew-now command, say). */
export interface EarlyMessages {
  /** Stops recording; returns what arrived. */
  stop(): { readonly topic: string; readonly payload: Buffer }[];
}

/** Records what `client` receives from now on, for stayOnline (give it to runDevice's onAccountConnected). */
export function recordEarlyMessages(client: MqttClient): EarlyMessages {
  const messages: { topic: string; payload: Buffer }[] = [];
  const listener = (topic: string, payload: Buffer): void => void messages.push({ topic, payload });
  client.on('message', listener);
  return {
    stop() {
      client.off('message', listener);
      return messages;
    },
  };
}

function sleepUntil(at: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, at - Date.now()),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Until `at`, the connection's end, the signal, or a wake-up (a renew-now command), whichever comes first. */
function waitFor(at: number, client: MqttClient, signal: AbortSignal | undefined, setWake: (wake: (why: Wake) => void) => void): Promise<Wake> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (why: Wake): void => {
      if (timer) clearTimeout(timer);
      client.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      resolve(why);
    };
    const onClose = (): void => finish('closed');
    const onAbort = (): void => finish('stop');
    if (signal?.aborted) return finish('stop');
    if (!client.connected) return finish('closed');
    // setTimeout holds at most 2^31 − 1 ms (24.8 days): a longer wait wakes early and waits again.
    if (Number.isFinite(at)) timer = setTimeout(() => finish('time'), Math.min(2 ** 31 - 1, Math.max(0, at - Date.now())));
    client.on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    setWake(finish);
  });
}
