import type { Api, Principal } from './api.ts';

export interface Account {
  readonly id: string;
  readonly name: string;
  readonly brokerUrl: string | null;
  readonly createdOn: string;
}

/** An audit event as GET /api/v1/audit-events and the live stream give it. */
export interface AuditEvent {
  readonly id: string;
  readonly time: string;
  readonly type: string;
  readonly outcome: 'success' | 'failure';
  readonly actor: string;
  readonly accountId: string | null;
  readonly clientId: string | null;
  readonly provisionRequestId: string | null;
  readonly detail: Record<string, unknown>;
}

/**
 * What every view is given: the signed-in API client and who its token is, the accounts it may
 * work in and the one chosen, and the live audit events. An account token has exactly one account
 * and no admin action (isAdmin false): the views then show no account switcher and no button
 * that would answer 403. Likewise a read-only token (canWrite false) gets no button that changes anything.
 */
export interface ConsoleContext {
  readonly api: Api;
  readonly principal: Principal;
  readonly isAdmin: boolean;
  /** The token's scope allows changes (not read-only): create, enable, delete buttons are shown. */
  readonly canWrite: boolean;
  /** The token may manage accounts (a global token of scope admin). */
  readonly canAdminister: boolean;
  /** The accounts this token may work in (an account token: its own). */
  accounts: Account[];
  /** The account chosen in the header; null: every account (the admin only). */
  readonly accountId: string | null;
  /** The view's parameters: `#/devices/ID?online=true` → path ['ID'], query online=true. */
  readonly path: readonly string[];
  readonly query: URLSearchParams;
  navigate(hash: string): void;
  /** Reloads the account list (after one is created) and draws the view again. */
  refreshAccounts(): Promise<void>;
  /** Calls `listener` with each live audit event until the view is left. */
  onAuditEvent(listener: (event: AuditEvent) => void): void;
}

export function accountName(context: ConsoleContext, accountId: string | null): string {
  if (accountId === null) return '—';
  return context.accounts.find((account) => account.id === accountId)?.name ?? accountId;
}
