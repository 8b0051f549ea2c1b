import { PlatformError } from '../errors/platform-error.ts';
import type { ClientIdHolders, ProvisionStore } from '../store/types.ts';

/**
 * Who owns a clientId (docs/SECURITY.md, "Who owns a clientId"). A clientId is one MQTT session on
 * each broker and one provisioning namespace for the whole platform, so it can belong to one
 * account at a time. Its holders are the accounts with a VALID certificate for it (the device's
 * live identity); when there is none, the accounts with a provision request for it, in any
 * status. An account releases a clientId by deleting its requests for it and revoking its
 * certificates. Only the admin may claim a clientId another account holds (moving a device).
 */
export function holdersOf(holders: ClientIdHolders | undefined): readonly string[] {
  if (!holders) return [];
  return holders.validCertificateAccountIds.length > 0 ? holders.validCertificateAccountIds : holders.requestAccountIds;
}

/**
 * The one answer an account token gets for a clientId it may not claim: the same whether another
 * account holds it, its own account already has a request for it, or another account has an
 * ENABLED request for it, so the answer never says which, nor which account.
 */
export function clientIdInUse(): PlatformError {
  return new PlatformError('DUPLICATE', { detail: 'the clientId is already in use' });
}

/** For the admin, who may know: which accounts hold it, and how to move it. */
export function clientIdHeldBy(accountIds: readonly string[]): PlatformError {
  return new PlatformError('DUPLICATE', {
    detail: `the clientId is held by account ${accountIds.join(', ')}; send overwriteIfDuplicate: true to move it`,
  });
}

/** A request that would claim a clientId for an account (a creation, or overwriteIfDuplicate). */
export interface ClientIdClaim {
  readonly accountId: string;
  readonly clientId: string;
  readonly overwriteIfDuplicate?: boolean;
}

export interface Claimant {
  /** createdBy and the audit actor: 'admin' or an API token id. */
  readonly actor: string;
  /** The admin may claim a clientId another account holds, with overwriteIfDuplicate. */
  readonly admin: boolean;
}

/** The accounts other than `accountId` that hold the clientId. */
function otherHolders(holders: ClientIdHolders | undefined, accountId: string): readonly string[] {
  return holdersOf(holders).filter((holder) => holder !== accountId);
}

/**
 * The refusal of each claim that may not go ahead, by its position in `claims`. An account
 * token's refusals are audited for the admin only (no account on the event): an account never
 * learns that another tried to claim its clientIds.
 */
export async function refusedClaims(store: ProvisionStore, claims: readonly ClientIdClaim[], claimant: Claimant): Promise<Map<number, PlatformError>> {
  const holders = await store.findClientIdHolders(claims.map((claim) => claim.clientId));
  const refusals = new Map<number, PlatformError>();
  for (const [index, claim] of claims.entries()) {
    const others = otherHolders(holders.get(claim.clientId), claim.accountId);
    if (others.length === 0) continue;
    if (claimant.admin) {
      if (!claim.overwriteIfDuplicate) refusals.set(index, clientIdHeldBy(others));
      continue;
    }
    refusals.set(index, clientIdInUse());
    await store.appendAudit({
      type: 'request.claim_refused',
      outcome: 'failure',
      actor: claimant.actor,
      accountId: null,
      clientId: claim.clientId,
      provisionRequestId: null,
      detail: { accountId: claim.accountId, heldBy: others },
    });
  }
  return refusals;
}

/** Enabling a request claims its clientId again: refused, whoever asks, while another account holds it. */
export async function checkMayEnable(store: ProvisionStore, request: { readonly accountId: string; readonly clientId: string }): Promise<void> {
  const holders = await store.findClientIdHolders([request.clientId]);
  if (otherHolders(holders.get(request.clientId), request.accountId).length > 0) throw clientIdInUse();
}
