import { provisioningCodeHash, type ProvisioningCodeKeys } from '../crypto/provisioning-code-hash.ts';
import { PlatformError } from '../errors/platform-error.ts';
import { normalizeProvisioningCode } from '../protocol/enrollment.ts';
import type { ProvisioningCode } from '../store/enrollment-types.ts';
import type { ProvisionStore } from '../store/types.ts';
import type { CodeFailureBudget } from './code-failure-budget.ts';
import { withdrawEnrollmentRequest, type EnrollmentRequest, type EnrollmentRequestOptions } from './enrollment-requests.ts';

export interface ProvisioningCodeCheckOptions {
  readonly store: Pick<ProvisionStore, 'findProvisioningCodeByHash' | 'bindProvisioningCode'>;
  /** The code hash keys of the platform secrets (crypto/provisioning-code-hash.ts): a code is looked up under each. */
  readonly keys: ProvisioningCodeKeys;
  readonly budget: CodeFailureBudget;
  readonly now: () => number;
}

/** One answer for every code that does not admit this device: whether it exists is not told. */
const notAdmitted = 'provisioning code not valid for this device';

/**
 * The provisioning-code rule of the provision broker (docs/PROTOCOL.md §18), for a CONNECT with
 * user name `provisioning-code` and the code as password. The code is never logged, audited or
 * kept: only its keyed hash is compared.
 * - While the broker's budget of wrong codes is spent (code-failure-budget.ts): CONNECT_LOCKED_OUT,
 *   a right code too, before anything is looked up.
 * - Not 12 digits (spaces and dashes aside), unknown, expired, REGISTERED, or bound to another
 *   clientId: CONNECT_BAD_CREDENTIALS, one answer for all, each taken out of the budget. Every key
 *   is looked up whatever the outcome, so that what a code is costs the same.
 */
export function createProvisioningCodeCheck(options: ProvisioningCodeCheckOptions) {
  const { store, keys, budget, now } = options;

  function wrongCode(): PlatformError {
    budget.recordFailure();
    return new PlatformError('CONNECT_BAD_CREDENTIALS', { detail: notAdmitted });
  }

  /** The PENDING code the password names and that may admit clientId. */
  async function check(clientId: string, password: Buffer): Promise<ProvisioningCode> {
    const spentFor = budget.spentForSeconds();
    if (spentFor > 0) {
      throw new PlatformError('CONNECT_LOCKED_OUT', { retryAfterSeconds: spentFor, detail: 'the budget of wrong provisioning codes is spent' });
    }
    const digits = normalizeProvisioningCode(password.toString('utf8'));
    if (digits === null) throw wrongCode();
    const found = await Promise.all(keys.all.map((key) => store.findProvisioningCodeByHash(provisioningCodeHash(key, digits))));
    const code = found.find((candidate) => candidate !== null) ?? null;
    if (!code || code.status !== 'PENDING' || code.expiresOn <= now() || (code.clientId !== null && code.clientId !== clientId)) throw wrongCode();
    return code;
  }

  /**
   * Binds the code to clientId and the request made for it. Another device may have bound it
   * between check and here: then what this CONNECT did to its request is taken back and the
   * CONNECT refused as for a wrong code.
   */
  async function bind(code: ProvisioningCode, clientId: string, made: EnrollmentRequest, requests: EnrollmentRequestOptions): Promise<void> {
    if (await store.bindProvisioningCode(code.id, clientId, made.request.id)) return;
    await withdrawEnrollmentRequest(requests, made);
    throw wrongCode();
  }

  return { check, bind };
}
