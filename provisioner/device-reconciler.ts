import type { Logger } from '../log/logger.ts';
import { inDeviceEncoding, type PayloadEncoding } from '../protocol/payload-encoding.ts';
import type { Account, DeviceRecord } from '../store/types.ts';
import { audit } from './audit.ts';
import { configurationPushMessage } from './configuration-push.ts';
import type { ProvisionerDependencies } from './dependencies.ts';
import { heldConfigurationOfDevice, recordExpectedConfiguration } from './expected-configuration.ts';
import { KeyedTokenBuckets } from './token-buckets.ts';
import { configurationPushes } from '../metrics/metrics.ts';

export type ReconcilerDependencies = Pick<ProvisionerDependencies, 'store' | 'signing' | 'chainPems' | 'accountBrokerUrl' | 'rateLimits' | 'log'>;

/** Why a device is being brought up to date: its birth, or an operator's change (a fleet-update notice). */
export type ReconcileCause = 'birth' | 'notice';

export interface DeviceReconcilerOptions {
  /** QoS 1, not retained, into the account broker's topic space. */
  readonly publish: (topic: string, payload: Buffer) => Promise<void>;
  /** Sends the device the latest update job that matches it, if it lacks it (issue 15 §4). */
  readonly sendJobs?: (account: Account, device: DeviceRecord, encoding: PayloadEncoding) => Promise<void>;
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
    const held = await heldConfigurationOfDevice(store, account, device, this.deps.accountBrokerUrl);
    // A device that never completed provisioning here holds nothing of ours to compare.
    if (!held) return device;
    const sha256 = held.built.sha256;
    const current = await recordExpectedConfiguration(store, account, device, held);
    const inSync = current.reportedConfigurationHash === sha256;
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
    configurationPushes.inc({ cause });
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
