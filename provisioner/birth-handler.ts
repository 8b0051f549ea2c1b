import { randomUUID } from 'node:crypto';
import type { Logger } from '../log/logger.ts';
import { decodeBirth, encodeConfigurationPush } from '../protocol/messages.ts';
import { signBody } from '../protocol/signing.ts';
import { configurationPushTopic, parseDeviceTopic } from '../protocol/topics.ts';
import type { Account, ProvisionStore } from '../store/types.ts';
import { audit } from './audit.ts';
import { configurationForRequest } from './configuration-builder.ts';
import type { ProvisionerDependencies } from './dependencies.ts';
import type { ProvisioningTransport } from './transport.ts';

export const birthFilter = '$EDC/+/+/MQTT/BIRTH';

type BirthDependencies = Pick<ProvisionerDependencies, 'store' | 'signing' | 'chainPems' | 'accountBrokerUrl' | 'log'>;

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
 */
export async function startBirthHandler(deps: BirthDependencies, transport: ProvisioningTransport): Promise<{ close(): Promise<void> }> {
  const log: Logger = deps.log.child({ component: 'birth-handler' });
  const pending = new Set<Promise<void>>();

  async function handleBirth(topic: string, payload: Buffer): Promise<void> {
    const parsed = parseDeviceTopic(topic);
    if (!parsed) return;
    const { account: accountName, clientId } = parsed;
    const birth = decodeBirth(payload);
    const account = await deps.store.getAccountByName(accountName);
    if (!account) return;
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
    // The common case costs no lookup: the device runs what the platform recorded at completion.
    if (device.expectedConfigurationHash === birth.configurationHash) return;
    const held = await heldConfiguration(deps, account, clientId);
    if (!held || held.sha256 === birth.configurationHash) return;
    if (device.expectedConfigurationHash !== held.sha256) {
      await deps.store.upsertDevice(account.id, clientId, { expectedConfigurationHash: held.sha256 });
    }
    // Signed and bound to the device like a provisioning reply (PROTOCOL.md §10).
    const requestId = randomUUID();
    const body = Buffer.from(
      JSON.stringify({
        clientId,
        requestId,
        content: held.content,
        sha256: held.sha256,
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
      detail: { reported: birth.configurationHash, held: held.sha256 },
    });
  }

  await transport.start([birthFilter], (topic, payload) => {
    const work = handleBirth(topic, payload)
      .catch((error: unknown) => log.warn({ err: error, topic }, 'birth message not handled'))
      .finally(() => pending.delete(work));
    pending.add(work);
  });
  return {
    async close() {
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
