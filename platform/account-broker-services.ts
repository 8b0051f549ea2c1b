import type { AccountBroker } from '../broker/account-broker.ts';
import { isConnectedHere } from '../broker/connected-clients.ts';
import type { ProvisionBroker } from '../broker/provision-broker.ts';
import type { CertificateAuthority } from '../certs/certificate-authority.ts';
import type { RenewNowSender } from '../cluster/renew-now-notice.ts';
import type { PlatformConfig } from '../config/config.ts';
import type { Logger } from '../log/logger.ts';
import { publishQos1 } from '../provisioner/aedes-transport.ts';
import { startBirthHandler } from '../provisioner/birth-handler.ts';
import { startRenewalHandler } from '../provisioner/certificate-renewal.ts';
import type { ProvisionerDependencies } from '../provisioner/dependencies.ts';
import { localPublishTransport } from '../provisioner/local-publish-transport.ts';
import { renewNowPublisher } from '../provisioner/renew-now-publisher.ts';
import type { ProvisioningTransport } from '../provisioner/transport.ts';
import { startRenewalSweep } from './certificate-renewal-sweep.ts';
import { startLiveCertificateReissue } from './live-certificate-reissue.ts';
import type { ShutdownSequence } from './shutdown-sequence.ts';

export interface AccountBrokerServicesOptions {
  readonly config: PlatformConfig;
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

/**
 * What every process holding an account broker runs beside it (the all-in-one process and each
 * broker process of a cluster): the birth handler, CERT-V1 renewal of this broker's devices, the
 * renewal grace sweep (settling is idempotent, so several processes may sweep), the live reissue
 * of the server and signing certificates, and the sender of renew-now commands to the devices
 * connected here.
 */
export async function startAccountBrokerServices(options: AccountBrokerServicesOptions): Promise<RenewNowSender> {
  const { config, deps, ca, provisionBroker, accountBroker, log, shutdown } = options;
  const birthHandler = await startBirthHandler(deps, options.birthTransport);
  shutdown.add(() => birthHandler.close());
  const renewalHandler = await startRenewalHandler(deps, localPublishTransport(accountBroker.aedes));
  shutdown.add(() => renewalHandler.close());
  const renewalSweep = startRenewalSweep(config, { store: deps.store, sessions: deps.sessions, log });
  shutdown.add(() => renewalSweep.close());
  const reissue = startLiveCertificateReissue(config, ca, [provisionBroker, accountBroker], log);
  shutdown.add(() => reissue.close());
  return renewNowPublisher({
    signing: deps.signing,
    chainPems: deps.chainPems,
    publish: (topic, payload) => publishQos1(accountBroker.aedes, topic, payload),
    isConnectedHere: (clientId) => isConnectedHere(accountBroker.aedes, clientId),
    log,
  });
}
