import type { Logger } from '../log/logger.ts';
import { inDeviceEncoding, type PayloadEncoding } from '../protocol/payload-encoding.ts';
import type { Account, DeviceRecord, ProvisionRequest, ProvisionStore } from '../store/types.ts';
import { audit } from './audit.ts';
import { configurationPushMessage } from './configuration-push.ts';
import type { ProvisionerDependencies } from './dependencies.ts';
import { deviceSubject, heldConfiguration } from './held-configuration.ts';
import { KeyedTokenBuckets } from './token-buckets.ts';

export type ReconcilerDependencies = Pick<ProvisionerDependencies, 'store' | 'signing' | 'chainPems' | 'accountBrokerUrl' | 'rateLimits' | 'log'>;

/** Why a device is being brought up to date: its birth, or an operator's change (a fleet-update notice). */
export type ReconcileCause = 'birth' | 'notice';

export interface DeviceReconcilerOptions {
  /** QoS 1, not retained, into the account broker's topic space. */
  readonly publish: (topic: string, payload: Buffer) => Promise<void>;
  /** Sends the device the latest update job that matches it, if it lacks it (issue 15 §4). */
  readonly sendJobs?: (account: Account, device: DeviceRecord, encoding: PayloadEncoding) => Promise<void>;
}

/** The device's completed provision request, if it still exists: what its configuration falls back to. */
async function completedRequest(store: ProvisionStore, accountId: string, clientId: string): Promise<ProvisionRequest | null> {
  const requests = await store.listProvisionRequests({ accountId, clientIds: [clientId], jobStatuses: ['COMPLETED'], limit: 1 });
  return requests.items[0] ?? null;
}

/**
 * Brings one online device up to date with what the platform holds for it, after its birth and
 * when an operator changes something (fleet-update notice): its configuration (CONF-V1, the
 * OpenWiFi rule: a device whose hash differs is sent the configuration), then the latest matching
 * update job. Records in the registry what the device should run and where it stands with it.
 *
 * A device gets a given configuration at most once per PROVISIO_CONFIGURATION_RESEND_INTERVAL_SECONDS
 * (per broker process), however often it is born or told; a new configuration goes out at once. A
 * configuration the device refused is not sent again until the platform holds another one.
 */
export class DeviceReconciler {
  private readonly log: Logger;
  private readonly pushes: KeyedTokenBuckets;
  /** Devices whose last birth here came as KuraPayload protobuf: their pushes go in it too (issue 15 §5). */
  private readonly kuraDevices = new Set<string>();

  constructor(
    private readonly deps: ReconcilerDependencies,
    private readonly options: DeviceReconcilerOptions,
  ) {
    this.log = deps.log.child({ component: 'device-reconciler' });
    this.pushes = new KeyedTokenBuckets(1, deps.rateLimits.configurationResendIntervalSeconds * 1000);
  }

  /**
   * `encoding`: what the device's birth came in (given with a birth); pushes go to the device in
   * the encoding of its last birth seen by this process (the process holding its connection), JSON before any.
   */
  async reconcile(account: Account, device: DeviceRecord, cause: ReconcileCause, encoding?: PayloadEncoding): Promise<void> {
    const key = `${account.name}/${device.clientId}`;
    if (encoding === 'kura-protobuf') this.kuraDevices.add(key);
    else if (encoding === 'json') this.kuraDevices.delete(key);
    const deviceEncoding = this.kuraDevices.has(key) ? 'kura-protobuf' : 'json';
    const current = await this.reconcileConfiguration(account, device, cause, deviceEncoding);
    if (this.options.sendJobs) await this.options.sendJobs(account, current, deviceEncoding);
  }

  private async reconcileConfiguration(account: Account, device: DeviceRecord, cause: ReconcileCause, encoding: PayloadEncoding): Promise<DeviceRecord> {
    const { store } = this.deps;
    const { clientId } = device;
    const request = await completedRequest(store, account.id, clientId);
    // A device that never completed provisioning here holds nothing of ours to compare.
    if (!request && device.provisionedOn === null) return device;
    const held = await heldConfiguration(store, account, deviceSubject(device, request), this.deps.accountBrokerUrl);
    const sha256 = held.built.sha256;
    let current = device;
    const inSync = device.reportedConfigurationHash === sha256;
    if (device.expectedConfigurationHash !== sha256 || (inSync && device.configurationState !== 'APPLIED')) {
      // A new configuration to run (or the device reported it without a result): what was refused before no longer counts.
      current = await store.upsertDevice(account.id, clientId, {
        expectedConfigurationHash: sha256,
        configurationState: inSync ? 'APPLIED' : 'PENDING',
        configurationError: null,
      });
    }
    if (inSync) return current;
    if (current.configurationState === 'REFUSED') {
      this.log.debug({ clientId, account: account.name }, 'configuration refused by the device: not sent again until it changes');
      return current;
    }
    if (this.pushes.take(`${account.name}/${clientId}/${sha256}`) > 0) {
      this.log.info({ clientId, account: account.name }, 'configuration hash differs: configuration already sent within the resend interval');
      return current;
    }
    const push = configurationPushMessage(this.deps, account.name, clientId, held);
    await this.options.publish(push.topic, inDeviceEncoding(push.payload, encoding));
    this.log.info({ clientId, account: account.name, cause }, 'configuration sent');
    await audit(store, this.log, {
      type: 'device.configuration.sent',
      outcome: 'success',
      actor: 'platform',
      accountId: account.id,
      clientId,
      provisionRequestId: null,
      detail: {
        cause,
        requestId: push.requestId,
        reported: device.reportedConfigurationHash,
        sha256,
        configurationId: held.configurationId,
        version: held.version,
      },
    });
    return current;
  }
}
