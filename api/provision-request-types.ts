import type { PlatformError } from '../errors/platform-error.ts';
import type { ProvisionRequest, RequestStatus } from '../store/types.ts';

/**
 * What the provision request service (api/provision-request-service.ts) is asked and answers:
 * the operator's input with its defaults left open, the creation result with the credentials in
 * clear, and a change. The routes build these from the validated bodies.
 */

/** What an operator asks for; every field but accountId and clientId has a default. Times in epoch ms. */
export interface ProvisionRequestInput {
  readonly accountId: string;
  readonly clientId: string;
  /** Default: the clientId. */
  readonly username?: string;
  /** Default: a generated 32-character secret. */
  readonly password?: string;
  readonly generateActivationKey?: boolean;
  /** Default: now. */
  readonly activatesOn?: number;
  /** Default: activatesOn + requestDefaultValidityDays. */
  readonly expiresOn?: number;
  readonly retryMaxAttempts?: number;
  readonly overwriteIfDuplicate?: boolean;
  readonly configurationId?: string | null;
  readonly bundleIds?: readonly string[];
  /** A category name of the account, which the device inherits; default none. */
  readonly category?: string | null;
  /** Free tags the device inherits; default none. */
  readonly tags?: readonly string[];
  readonly status?: RequestStatus;
}

/** The device's credentials in clear: they exist only in the creation result. */
export interface ProvisionCredentials {
  readonly username: string;
  readonly password: string;
  readonly activationKey?: string;
}

export interface CreatedProvisionRequest {
  readonly request: ProvisionRequest;
  readonly credentials: ProvisionCredentials;
}

export interface CreateOptions {
  /** createdBy/modifiedBy and the audit actor: 'admin' or an API token id. */
  readonly actor: string;
  /**
   * The admin's: may claim a clientId another account holds, with overwriteIfDuplicate (moving a
   * device; an ENABLED request of the other account is disabled). Without it, a clientId held by
   * another account is refused, and every DUPLICATE gets the one answer of clientIdInUse().
   */
  readonly mayOverwriteOtherAccounts?: boolean;
}

export type BatchItemResult =
  | { readonly ok: true; readonly index: number; readonly created: CreatedProvisionRequest }
  | { readonly ok: false; readonly index: number; readonly clientId: string; readonly error: PlatformError };

export interface ProvisionRequestChanges {
  readonly activatesOn?: number;
  readonly expiresOn?: number;
  readonly retryMaxAttempts?: number;
  /** Replaces the password (stored hashed). */
  readonly password?: string;
  readonly configurationId?: string | null;
  readonly bundleIds?: readonly string[];
  readonly category?: string | null;
  readonly tags?: readonly string[];
  readonly status?: RequestStatus;
}
