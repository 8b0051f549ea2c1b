import type { Logger } from '../log/logger.ts';
import { decodeBirth, type BirthMessage } from '../protocol/messages.ts';
import { parseDeviceTopic } from '../protocol/topics.ts';
import type { DevicePatch, ProvisionStore } from '../store/types.ts';
import { audit } from './audit.ts';
import { BirthThrottle } from './birth-throttle.ts';
import type { ProvisionerDependencies } from './dependencies.ts';
import type { DeviceReconciler } from './device-reconciler.ts';
import type { ProvisioningTransport } from './transport.ts';
import { deviceBirths } from '../metrics/metrics.ts';

export const birthFilter = '$EDC/+/+/MQTT/BIRTH';

type BirthDependencies = Pick<ProvisionerDependencies, 'store' | 'rateLimits' | 'log'>;

/** A birth as it came: decoded, or why it could not be (a bad birth is throttled like a good one, and so are its log lines). */
interface ReceivedBirth {
  readonly account: string;
  readonly clientId: string;
  readonly birth: BirthMessage | { readonly invalid: string };
  readonly receivedAt: number;
}

export interface BirthHandlerOptions {
  /** This broker process: recorded as where the device is online (the registry's brokerId). */
  readonly brokerId: string;
  /** Brings the device up to date after its birth is recorded (configuration, update jobs). */
  readonly reconciler: DeviceReconciler;
}

/** The facts a birth states: a fact it leaves out keeps what the registry knew. */
function statedFacts(birth: BirthMessage): DevicePatch {
  return {
    ...(birth.model !== undefined ? { model: birth.model } : {}),
    ...(birth.serial !== undefined ? { serial: birth.serial } : {}),
    ...(birth.firmware !== undefined ? { firmware: birth.firmware } : {}),
    ...(birth.trustedRoots !== undefined ? { trustedRoots: birth.trustedRoots } : {}),
  };
}

/**
 * The account broker's side of the journey: a birth message marks the device online on this
 * broker process, records what it says about itself and the configuration hash it runs, and
 * hands it to the reconciler (its configuration, the latest matching update job).
 *
 * What one device can make the platform do is bounded (issue 20 §2, docs/PROTOCOL.md §10): births
 * go through a BirthThrottle (two at once, then one per PROVISIO_BIRTH_INTERVAL_SECONDS, the
 * latest of those in between handled when its turn comes); the reconciler bounds the pushes.
 */
export async function startBirthHandler(
  deps: BirthDependencies,
  transport: ProvisioningTransport,
  options: BirthHandlerOptions,
): Promise<{ close(): Promise<void> }> {
  const log: Logger = deps.log.child({ component: 'birth-handler' });
  const pending = new Set<Promise<void>>();
  const throttle = new BirthThrottle<ReceivedBirth>(deps.rateLimits.birthIntervalSeconds * 1000, (_key, received, dropped) => {
    // Logged once per interval and device, whatever the flood.
    if (dropped > 0) log.info({ clientId: received.clientId, account: received.account, dropped }, 'births dropped: more than one per interval');
    track(received);
  });

  function track(received: ReceivedBirth): void {
    const work = handleBirth(received)
      .catch((error: unknown) => log.warn({ err: error, clientId: received.clientId }, 'birth message not handled'))
      .finally(() => pending.delete(work));
    pending.add(work);
  }

  async function handleBirth(received: ReceivedBirth): Promise<void> {
    const { account: accountName, clientId } = received;
    if ('invalid' in received.birth) {
      log.warn({ clientId, account: accountName, reason: received.birth.invalid }, 'birth message not handled');
      return;
    }
    const birth = received.birth;
    // Counted as handled, whether or not a disconnect seen since makes it stale for the registry.
    deviceBirths.inc();
    const account = await deps.store.getAccountByName(accountName);
    if (!account) return;
    const now = Date.now();
    // Written only if no disconnect was recorded after the birth came (a birth held by the
    // throttle, or one whose write lost the race with the disconnect's): that birth is stale.
    const device = await deps.store.upsertDeviceUnlessOfflineSince(
      account.id,
      clientId,
      {
        online: true,
        brokerId: options.brokerId,
        lastBirthOn: now,
        lastSeenOn: now,
        ...statedFacts(birth),
        ...(birth.configurationHash ? { reportedConfigurationHash: birth.configurationHash } : {}),
      },
      received.receivedAt,
    );
    if (!device) return;
    await audit(deps.store, log, {
      type: 'device.birth',
      outcome: 'success',
      actor: clientId,
      accountId: account.id,
      clientId,
      provisionRequestId: null,
      detail: { configurationHash: birth.configurationHash ?? null, brokerId: options.brokerId },
    });
    // At every birth handled (births are throttled per device): what the device should run may
    // have changed while it was away, and a device running something else must get it.
    await options.reconciler.reconcile(account, device, 'birth', birth.encoding);
  }

  await transport.start([birthFilter], (topic, payload) => {
    const parsed = parseDeviceTopic(topic);
    if (!parsed) return;
    let birth: ReceivedBirth['birth'];
    try {
      birth = decodeBirth(payload);
    } catch (error) {
      birth = { invalid: (error as Error).message };
    }
    const received: ReceivedBirth = { account: parsed.account, clientId: parsed.clientId, birth, receivedAt: Date.now() };
    // Decided at once, in arrival order: only what the throttle lets through costs the store anything.
    if (throttle.offer(`${parsed.account}/${parsed.clientId}`, received) === 'now') track(received);
  });
  return {
    async close() {
      throttle.close();
      await Promise.allSettled([...pending]);
      await transport.close();
    },
  };
}

/**
 * Marks a device offline when its connection to this broker process ends, unless the registry
 * already shows it online on another broker process (it moved there before this disconnect was
 * seen): one atomic step in the store, so a birth elsewhere cannot be overwritten. Audited as
 * device.offline when it changed the record (so at most once per disconnect; the webhooks' device.offline).
 */
export async function recordDeviceOffline(store: ProvisionStore, log: Logger, accountName: string, clientId: string, brokerId: string): Promise<void> {
  try {
    const account = await store.getAccountByName(accountName);
    if (!account || !(await store.markDeviceOffline(account.id, clientId, brokerId, Date.now()))) return;
    await audit(store, log, {
      type: 'device.offline',
      outcome: 'success',
      actor: clientId,
      accountId: account.id,
      clientId,
      provisionRequestId: null,
      detail: { brokerId },
    });
  } catch (error) {
    log.warn({ err: error, clientId }, 'device offline state not recorded');
  }
}
