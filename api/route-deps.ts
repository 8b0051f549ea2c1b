import type { SignedCrl } from '../certs/certificate-authority.ts';
import type { FleetUpdateSender } from '../cluster/fleet-update-notice.ts';
import type { RenewNowSender } from '../cluster/renew-now-notice.ts';
import type { SessionEnder } from '../cluster/session-end-notice.ts';
import type { PlatformConfig } from '../config/schema.ts';
import type { ProvisioningCodeKeys } from '../crypto/provisioning-code-hash.ts';
import type { Logger } from '../log/logger.ts';
import type { NewAuditEvent, ProvisionStore } from '../store/types.ts';
import type { ApiTokenAuthenticator } from './auth.ts';
import type { BundleDownloadTokens } from './bundle-download-tokens.ts';
import type { BundleStorage } from './bundle-storage.ts';
import type { ProvisionRequestService } from './provision-request-service.ts';
import type { WebhookSecretBox } from './webhooks/webhook-secret-box.ts';

/**
 * Records the configuration the platform holds for devices of an account, offline ones included,
 * after a change that alters it (so the registry's expected hash and "in sync" are right before
 * the devices come back). The broker side's rules live in provisioner/; the platform wires them in.
 */
export interface ExpectedConfigurationRecorder {
  record(accountId: string, filter: { readonly category?: string; readonly clientId?: string }): Promise<void>;
}

/** What createApiApp is given. */
export interface ApiDeps {
  readonly store: ProvisionStore;
  readonly config: PlatformConfig;
  readonly log: Logger;
  /**
   * The current CRL of the issuing CA with this id, or of the one in use when none is given (signed
   * once, cached, signed again after a revocation and before nextUpdate: platform/crl-source.ts);
   * null: none for that id. Without it GET /api/v1/crl and the public /crl/… answer 404.
   */
  readonly crl?: (issuingCaId?: string) => Promise<SignedCrl | null>;
  readonly bundleStorage: BundleStorage;
  readonly downloadTokens: BundleDownloadTokens;
  readonly adminTokens: ApiTokenAuthenticator;
  /**
   * Ends the live sessions of a revoked certificate, a disabled or deleted request, a deleted
   * account: in place (all-in-one) or through the session-end stream (cluster). Absent: an API
   * with no broker to tell (tests of the API alone).
   */
  readonly sessions?: SessionEnder;
  /**
   * Tells online devices to renew their certificate now (POST /api/v1/certificate-renewals): in
   * place (all-in-one) or through the renew-now channel (cluster). Absent: an API with no broker to tell.
   */
  readonly renewals?: RenewNowSender;
  /**
   * Tells online devices to catch up with a change (a configuration edited, a device moved, an
   * update job): in place (all-in-one) or through the fleet-update channel (cluster). Absent: an
   * API with no broker to tell; the devices catch up at their next birth.
   */
  readonly fleetUpdates?: FleetUpdateSender;
  /** Absent: expected configurations are recorded when each device is next brought up to date (its birth). */
  readonly expectedConfigurations?: ExpectedConfigurationRecorder;
  /** Seals webhook signing secrets with the platform secrets (api/webhooks/webhook-secret-box.ts). Absent: webhooks cannot be registered (500). */
  readonly webhookSecrets?: WebhookSecretBox;
  /**
   * The keys provisioning codes are hashed under, derived from the platform secrets
   * (crypto/provisioning-code-hash.ts) as the provision broker derives them. Absent: codes cannot be made (500).
   */
  readonly provisioningCodeKeys?: ProvisioningCodeKeys;
}

/** What route modules use: the deps plus services built from them. */
export interface RouteDeps extends ApiDeps {
  readonly requests: ProvisionRequestService;
  readonly sessions: SessionEnder;
  readonly renewals: RenewNowSender;
  readonly fleetUpdates: FleetUpdateSender;
  readonly expectedConfigurations: ExpectedConfigurationRecorder;
  readonly audit: (event: Omit<NewAuditEvent, 'outcome'> & { outcome?: 'success' | 'failure' }) => Promise<void>;
}

export function createRouteDeps(deps: ApiDeps, requests: ProvisionRequestService): RouteDeps {
  return {
    ...deps,
    requests,
    sessions: deps.sessions ?? { endSessions: async () => undefined },
    renewals: deps.renewals ?? { tellToRenew: async () => undefined },
    fleetUpdates: deps.fleetUpdates ?? { tellToUpdate: async () => undefined },
    expectedConfigurations: deps.expectedConfigurations ?? { record: async () => undefined },
    audit: async (event) => {
      await deps.store.appendAudit({ outcome: 'success', ...event });
    },
  };
}
