import { X509Certificate } from 'node:crypto';
import { startDiscoveryServer, type RunningDiscoveryServer } from '../api/discovery/discovery-server.ts';
import type { CertificateAuthority } from '../certs/certificate-authority.ts';
import type { PlatformConfig } from '../config/config.ts';
import type { Logger } from '../log/logger.ts';
import type { ProvisionStore } from '../store/types.ts';
import { publicHost } from './cluster-runtime.ts';
import { accountBrokerUrlOf } from './provisioner-deps.ts';

/**
 * Where discovery sends factory devices of this platform: PROVISIO_PROVISION_BROKER_URL, else this
 * host's provision broker TLS port (the bound one when the process knows it: port 0 picks a free one).
 */
export function provisionBrokerUrlOf(config: PlatformConfig, port = config.provisionMqttsPort): string {
  return config.provisionBrokerUrl ?? `mqtts://${publicHost(config)}:${port}`;
}

export interface DiscoveryServiceOptions {
  readonly config: PlatformConfig;
  readonly store: ProvisionStore;
  readonly ca: CertificateAuthority;
  readonly log: Logger;
  /** The listeners' bound ports when this process runs the brokers (the all-in-one); a cluster's API process goes by the configuration. */
  readonly ports?: { readonly provisionMqtts: number; readonly accountMqtts: number };
}

/**
 * The discovery listener (PROVISIO_DISCOVERY_PORT; docs/PROTOCOL.md §19) of the all-in-one process
 * and of each API process of a cluster. It serves the brokers' server certificate as the CA holds
 * it now, so a certificate reissued while running is picked up at the next connection.
 */
export function startDiscoveryService(options: DiscoveryServiceOptions): Promise<RunningDiscoveryServer> {
  const { config, store, ca, log, ports } = options;
  return startDiscoveryServer({
    host: config.bindHost,
    port: config.discoveryPort,
    credentials: () => ca.serverCredentials,
    store,
    audit: store,
    // Operational certificates are signed by the issuing CA or an earlier one still valid; the roots are in the list too, harmlessly.
    platformCas: ca.clientCaPems.map((pem) => new X509Certificate(pem)),
    provisionBrokerUrl: provisionBrokerUrlOf(config, ports?.provisionMqtts),
    accountBrokerUrl: accountBrokerUrlOf(config, ports?.accountMqtts),
    log: log.child({ component: 'discovery' }),
  });
}
