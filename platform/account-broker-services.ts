import type { AccountBroker } from '../broker/account-broker.ts';
import { isConnectedHere, trackConnectionStarts } from '../broker/connected-clients.ts';
import type { ProvisionBroker } from '../broker/provision-broker.ts';
import type { CertificateAuthority } from '../certs/certificate-authority.ts';
import type { FleetUpdateSender } from '../cluster/fleet-update-notice.ts';
import type { RenewNowSender } from '../cluster/renew-now-notice.ts';
import type { PlatformConfig } from '../config/config.ts';
import type { Logger } from '../log/logger.ts';
import { publishQos1 } from '../provisioner/aedes-transport.ts';
import { startBirthHandler } from '../provisioner/birth-handler.ts';
import { startConfigurationResultHandler } from '../provisioner/configuration-result-handler.ts';
import { DeviceReconciler } from '../provisioner/device-reconciler.ts';
import { fleetUpdateApplier } from '../provisioner/fleet-update-applier.ts';
import { sendLatestMatchingJob } from '../provisioner/update-job-dispatch.ts';
import { startJobProgressHandler } from '../provisioner/update-job-progress.ts';
import { startRenewalHandler } from '../provisioner/certificate-renewal.ts';
import type { ProvisionerDependencies } from '../provisioner/dependencies.ts';
import { localPublishTransport } from '../provisioner/local-publish-transport.ts';
import { renewNowPublisher } from '../provisioner/renew-now-publisher.ts';
import type { ProvisioningTransport } from '../provisioner/transport.ts';
import { startRenewalSweep } from './certificate-renewal-sweep.ts';
import { startLiveCertificateReissue } from './live-certificate-reissue.ts';
import { startBrokerLiveness } from './broker-liveness.ts';
import type { ShutdownSequence } from './shutdown-sequence.ts';

export interface AccountBrokerServicesOptions {
  readonly config: PlatformConfig;
  /** This broker process, as the registry records where devices are online. */
  readonly brokerId: string;
  readonly deps: ProvisionerDependencies;
  readonly ca: CertificateAuthority;
  readonly provisionBroker: ProvisionBroker;
  readonly accountBroker: AccountBroker;
  /** How the birth handler meets the account broker's messages. */
  readonly birthTransport: ProvisioningTransport;
  readonly log: Logger;
  /** Each service's close is added here, in start order. */
  readonly shutdown: ShutdownSequence;
}

/** What the API side tells the devices connected to this process through. */
export interface AccountBrokerSenders {
  readonly renewNow: RenewNowSender;
  readonly fleetUpdates: FleetUpdateSender;
}

/**
 * What every process holding an account broker runs beside it (the all-in-one process and each
 * broker process of a cluster): the birth handler and the device reconciler (configuration push,
 * update jobs), CONF-V1 results, JOB-V1 progress, CERT-V1 renewal of this broker's devices, the renewal grace sweep
 * (settling is idempotent, so several processes may sweep), the live reissue of the server and
 * signing certificates, the broker heartbeat that keeps the registry's online state right, and
 * the senders of renew-now commands and fleet updates to the devices connected here.
 */
export async function startAccountBrokerServices(options: AccountBrokerServicesOptions): Promise<AccountBrokerSenders> {
  const { config, deps, ca, provisionBroker, accountBroker, log, shutdown, brokerId } = options;
  const publish = (topic: string, payload: Buffer): Promise<void> => publishQos1(accountBroker.aedes, topic, payload);
  const connectedHere = (clientId: string): boolean => isConnectedHere(accountBroker.aedes, clientId);
  const connectedSince = trackConnectionStarts(accountBroker.aedes);
  const liveness = startBrokerLiveness({
    store: deps.store,
    brokerId,
    heartbeatSeconds: config.brokerHeartbeatSeconds,
    log: log.child({ component: 'broker-liveness' }),
  });
  shutdown.add(() => liveness.close());
  // After its configuration, a device is sent the latest update job that matches it (issue 15 §4).
  const reconciler = new DeviceReconciler(deps, {
    publish,
    sendJobs: (account, device, encoding) => sendLatestMatchingJob(deps, account, device, publish, encoding, connectedSince(device.clientId)),
  });
  const birthHandler = await startBirthHandler(deps, options.birthTransport, { brokerId, reconciler });
  shutdown.add(() => birthHandler.close());
  const configurationResults = await startConfigurationResultHandler(deps, localPublishTransport(accountBroker.aedes));
  shutdown.add(() => configurationResults.close());
  const jobProgress = await startJobProgressHandler(deps, localPublishTransport(accountBroker.aedes));
  shutdown.add(() => jobProgress.close());
  const renewalHandler = await startRenewalHandler(deps, localPublishTransport(accountBroker.aedes));
  shutdown.add(() => renewalHandler.close());
  const renewalSweep = startRenewalSweep(config, { store: deps.store, sessions: deps.sessions, log });
  shutdown.add(() => renewalSweep.close());
  const reissue = startLiveCertificateReissue(config, ca, [provisionBroker, accountBroker], log);
  shutdown.add(() => reissue.close());
  return {
    renewNow: renewNowPublisher({ signing: deps.signing, chainPems: deps.chainPems, publish, isConnectedHere: connectedHere, log }),
    fleetUpdates: fleetUpdateApplier({ store: deps.store, reconciler, isConnectedHere: connectedHere, log }),
  };
}
