import { randomUUID } from 'node:crypto';
import type { Logger } from '../log/logger.ts';
import { decodeBirth, encodeConfigurationPush, type BirthMessage } from '../protocol/messages.ts';
import { signBody } from '../protocol/signing.ts';
import { configurationPushTopic, parseDeviceTopic } from '../protocol/topics.ts';
import type { Account, ProvisionStore } from '../store/types.ts';
import { audit } from './audit.ts';
import { BirthThrottle } from './birth-throttle.ts';
import { configurationForRequest } from './configuration-builder.ts';
import type { ProvisionerDependencies } from './dependencies.ts';
import { KeyedTokenBuckets } from './token-buckets.ts';
import type { ProvisioningTransport } from './transport.ts';

export const birthFilter = '$EDC/+/+/MQTT/BIRTH';

type BirthDependencies = Pick<ProvisionerDependencies, 'store' | 'signing' | 'chainPems' | 'accountBrokerUrl' | 'rateLimits' | 'log'>;

/** A birth as it came: decoded, or why it could not be (a bad birth is throttled like a good one, and so are its log lines). */
interface ReceivedBirth {
  readonly account: string;
  readonly clientId: string;
  readonly birth: BirthMessage | { readonly invalid: string };
  readonly receivedAt: number;
}

/** The configuration the platform holds for a device: from its completed provision request. */
async function heldConfiguration(deps: BirthDependencies, account: Account, clientId: string) {
  const requests = await deps.store.listProvisionRequests({ accountId: account.id, clientIds: [clientId], jobStatuses: ['COMPLETED'], limit: 1 });
  const request = requests.items[0];
  return request ? configurationForRequest(deps.store, request, account, deps.accountBrokerUrl) : null;
}

/**
 * The account broker's side of the journey: a birth message marks the device online and
 * provisioned; when the configuration hash it reports differs from the one the platform holds,
 * the configuration is sent again, signed (the OpenWiFi rule).
 *
 * What one device can make the platform do is bounded (issue 20 §2, docs/PROTOCOL.md §10): births
 * go through a BirthThrottle (two at once, then one per PROVISIO_BIRTH_INTERVAL_SECONDS, the
 * latest of those in between handled when its turn comes), and a device gets at most one
 * configuration push per PROVISIO_CONFIGURATION_RESEND_INTERVAL_SECONDS. Both per process.
 */
export async function startBirthHandler(deps: BirthDependencies, transport: ProvisioningTransport): Promise<{ close(): Promise<void> }> {
  const log: Logger = deps.log.child({ component: 'birth-handler' });
  const pending = new Set<Promise<void>>();
  const pushes = new KeyedTokenBuckets(1, deps.rateLimits.configurationResendIntervalSeconds * 1000);
  const throttle = new BirthThrottle<ReceivedBirth>(deps.rateLimits.birthIntervalSeconds * 1000, (_key, received, dropped) => {
    // Logged once per interval and device, whatever the flood.
    if (dropped > 0) log.info({ clientId: received.clientId, account: received.account, dropped }, 'births dropped: more than one per interval');
    track(received, true);
  });

  function track(received: ReceivedBirth, held: boolean): void {
    const work = handleBirth(received, held)
      .catch((error: unknown) => log.warn({ err: error, clientId: received.clientId }, 'birth message not handled'))
      .finally(() => pending.delete(work));
    pending.add(work);
  }

  async function handleBirth(received: ReceivedBirth, held: boolean): Promise<void> {
    const { account: accountName, clientId } = received;
    if ('invalid' in received.birth) {
      log.warn({ clientId, account: accountName, reason: received.birth.invalid }, 'birth message not handled');
      return;
    }
    const birth = received.birth;
    const account = await deps.store.getAccountByName(accountName);
    if (!account) return;
    if (held) {
      // Held since it came: a disconnect recorded after it (recordDeviceOffline) makes it stale.
      const known = await deps.store.getDevice(account.id, clientId);
      if (known && !known.online && known.lastSeenOn !== null && known.lastSeenOn >= received.receivedAt) return;
    }
    const now = Date.now();
    const device = await deps.store.upsertDevice(account.id, clientId, {
      online: true,
      lastBirthOn: now,
      lastSeenOn: now,
      reportedConfigurationHash: birth.configurationHash,
    });
    await audit(deps.store, log, {
      type: 'device.birth',
      outcome: 'success',
      actor: clientId,
      accountId: account.id,
      clientId,
      provisionRequestId: null,
      detail: { configurationHash: birth.configurationHash },
    });
    // Looked up at every birth handled (births are throttled per device): the configuration may
    // have changed since completion, and a device running the old one must get the new one.
    const heldConf = await heldConfiguration(deps, account, clientId);
    if (!heldConf || heldConf.sha256 === birth.configurationHash) return;
    if (device.expectedConfigurationHash !== heldConf.sha256) {
      await deps.store.upsertDevice(account.id, clientId, { expectedConfigurationHash: heldConf.sha256 });
    }
    if (pushes.take(`${accountName}/${clientId}`) > 0) {
      log.info({ clientId, account: accountName }, 'configuration hash differs: configuration already sent within the resend interval');
      return;
    }
    // Signed and bound to the device like a provisioning reply (PROTOCOL.md §10).
    const requestId = randomUUID();
    const body = Buffer.from(
      JSON.stringify({
        clientId,
        requestId,
        content: heldConf.content,
        sha256: heldConf.sha256,
        certificates: { signing: deps.signing.certPem, chain: deps.chainPems },
      }),
    );
    const { signature, algorithm } = signBody(body, deps.signing.key);
    await transport.publish(
      configurationPushTopic(accountName, clientId),
      encodeConfigurationPush({ requestId, signature, signatureAlgorithm: algorithm, body }),
    );
    log.info({ clientId, account: accountName }, 'configuration hash differs: configuration sent again');
    await audit(deps.store, log, {
      type: 'device.configuration.resent',
      outcome: 'success',
      actor: 'platform',
      accountId: account.id,
      clientId,
      provisionRequestId: null,
      detail: { reported: birth.configurationHash, held: heldConf.sha256 },
    });
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
    if (throttle.offer(`${parsed.account}/${parsed.clientId}`, received) === 'now') track(received, false);
  });
  return {
    async close() {
      throttle.close();
      await Promise.allSettled([...pending]);
      await transport.close();
    },
  };
}

/** Marks a device offline when its account broker connection ends. */
export async function recordDeviceOffline(store: ProvisionStore, log: Logger, accountName: string, clientId: string): Promise<void> {
  try {
    const account = await store.getAccountByName(accountName);
    if (account) await store.upsertDevice(account.id, clientId, { online: false, lastSeenOn: Date.now() });
  } catch (error) {
    log.warn({ err: error, clientId }, 'device offline state not recorded');
  }
}
