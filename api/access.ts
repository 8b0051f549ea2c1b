import { PlatformError } from '../errors/platform-error.ts';
import type { Principal } from './auth.ts';

/**
 * Where a token may act. The admin token and global API tokens (kind 'admin') reach every
 * account; an account token sees and changes only its own account's records. What it may do
 * there is its scope, checked for every route by api/register-routes.ts. Reads of another account's single record answer 404, so ids are
 * not confirmed; creating in another account answers 403.
 */
export function requireAdmin(principal: Principal): void {
  if (principal.kind !== 'admin') throw new PlatformError('FORBIDDEN', { detail: 'this needs a token that is not bound to an account' });
}

export function canSeeAccount(principal: Principal, accountId: string): boolean {
  return principal.kind === 'admin' || principal.accountId === accountId;
}

/** The record if the principal may see it; otherwise NOT_FOUND, exactly as if it did not exist. */
export function visibleOrNotFound<T extends { readonly accountId: string }>(principal: Principal, record: T | null, what: string): T {
  if (!record || !canSeeAccount(principal, record.accountId)) throw new PlatformError('NOT_FOUND', { detail: `no such ${what}` });
  return record;
}

export function requireWriteAccess(principal: Principal, accountId: string): void {
  if (!canSeeAccount(principal, accountId)) {
    throw new PlatformError('FORBIDDEN', { detail: 'this token may only act in its own account' });
  }
}

/** The account a list is limited to: an account token's own, or what the admin asked for. */
export function listScope(principal: Principal, requested: string | undefined): string | undefined {
  if (principal.kind === 'admin') return requested;
  if (requested !== undefined && requested !== principal.accountId) {
    throw new PlatformError('FORBIDDEN', { detail: 'this token may only list its own account' });
  }
  return principal.accountId;
}
