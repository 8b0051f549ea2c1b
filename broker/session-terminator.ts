import type { Aedes, Client } from 'aedes';
import type { SessionEndNotice, SessionEnder } from '../cluster/session-end-notice.ts';
import type { Logger } from '../log/logger.ts';
import type { ProvisionStore } from '../store/types.ts';
import type { PrincipalRegistry } from './aedes-hooks.ts';
import type { BrokerPrincipal } from './topic-acl.ts';

/** What a session was authenticated with, beyond its topics: what a notice names. */
export interface SessionFacts {
  readonly accountId?: string;
  /** Account broker: the certificate the device presented. */
  readonly certificateSerial?: string;
  /** Provision broker: the request whose credentials opened the session. */
  readonly provisionRequestId?: string;
  /** Provision broker, a factory certificate (docs/PROTOCOL.md §17): its manufacturer CA, serial, and the group that admitted it. */
  readonly manufacturerCaId?: string;
  readonly factorySerial?: string;
  readonly enrollmentGroupId?: string;
}

export type SessionPrincipal = BrokerPrincipal & SessionFacts;

/** A notice, or "every device session" when notices were missed. */
type Target = SessionEndNotice | { readonly kind: 'all'; readonly cause: 'notices-missed' };

/**
 * How long a notice is kept to catch a CONNECT whose credentials were checked just before the
 * revocation but which registered after the notice arrived: authentication and restoring the
 * session take milliseconds, seconds while Redis is slow.
 */
const lateConnectWindowMs = 30_000;

function matches(principal: SessionPrincipal | undefined, target: Target): boolean {
  if (principal?.kind !== 'device') return false;
  switch (target.kind) {
    case 'certificate':
      return principal.clientId === target.clientId && principal.certificateSerial === target.serial;
    case 'provision-request':
      return principal.clientId === target.clientId && principal.provisionRequestId === target.provisionRequestId;
    case 'account':
      return principal.accountId === target.accountId;
    case 'factory-certificate':
      return principal.manufacturerCaId === target.manufacturerCaId && principal.factorySerial === target.serial;
    case 'enrollment-group':
      return principal.enrollmentGroupId === target.enrollmentGroupId;
    case 'manufacturer-ca':
      return principal.manufacturerCaId === target.manufacturerCaId;
    case 'all':
      return true;
  }
}

/** One key per thing a notice can name, so that a registering client is checked in O(1). */
function keyOf(target: Target): string {
  switch (target.kind) {
    case 'certificate':
      return `certificate ${target.clientId} ${target.serial}`;
    case 'provision-request':
      return `request ${target.clientId} ${target.provisionRequestId}`;
    case 'account':
      return `account ${target.accountId}`;
    case 'factory-certificate':
      return `factory-certificate ${target.manufacturerCaId} ${target.serial}`;
    case 'enrollment-group':
      return `enrollment-group ${target.enrollmentGroupId}`;
    case 'manufacturer-ca':
      return `manufacturer-ca ${target.manufacturerCaId}`;
    case 'all':
      return 'all';
  }
}

/** The keys of the notices that would name this principal. */
function keysNaming(principal: SessionPrincipal | undefined): string[] {
  if (principal?.kind !== 'device') return [];
  return [
    'all',
    ...(principal.certificateSerial ? [`certificate ${principal.clientId} ${principal.certificateSerial}`] : []),
    ...(principal.provisionRequestId ? [`request ${principal.clientId} ${principal.provisionRequestId}`] : []),
    ...(principal.accountId ? [`account ${principal.accountId}`] : []),
    ...(principal.manufacturerCaId ? [`manufacturer-ca ${principal.manufacturerCaId}`] : []),
    ...(principal.manufacturerCaId && principal.factorySerial ? [`factory-certificate ${principal.manufacturerCaId} ${principal.factorySerial}`] : []),
    ...(principal.enrollmentGroupId ? [`enrollment-group ${principal.enrollmentGroupId}`] : []),
  ];
}

export interface SessionTerminatorOptions {
  readonly broker: 'provision' | 'account';
  readonly aedes: Aedes;
  readonly principals: PrincipalRegistry<SessionPrincipal>;
  readonly store: Pick<ProvisionStore, 'appendAudit'>;
  readonly log: Logger;
  /** Told of each notice before its sessions are ended (what the broker keeps about credentials may have to be read again). */
  readonly onNotice?: (notice: SessionEndNotice) => void;
}

/**
 * Applies session-end notices to one broker of this process: finds the connected aedes clients
 * whose credentials the notice names, closes them (client.close(), as aedes does for a
 * protocol violation: no more packets are read, the socket is destroyed), and logs and audits
 * one line each. A client still authenticating when the notice arrives is closed as it
 * registers, when its credentials were checked before the notice came.
 */
export class SessionTerminator {
  readonly #options: SessionTerminatorOptions;
  /** Notices of the last lateConnectWindowMs by key, oldest first (a repeat moves to the end). */
  readonly #recent = new Map<string, { readonly target: Target; readonly receivedAt: number }>();

  constructor(options: SessionTerminatorOptions) {
    this.#options = options;
    options.aedes.on('client', (client) => this.#checkLateConnect(client));
  }

  /** Ends the sessions the notice concerns on this broker; resolves once they are closed. */
  end(notice: SessionEndNotice): Promise<number> {
    this.#options.onNotice?.(notice);
    return this.#endMatching(notice);
  }

  /** Ends every device session of this broker (notices were missed; devices reconnect and are checked again). */
  endAll(): Promise<number> {
    return this.#endMatching({ kind: 'all', cause: 'notices-missed' });
  }

  async #endMatching(target: Target): Promise<number> {
    const now = performance.now();
    this.#forgetOld(now);
    const key = keyOf(target);
    this.#recent.delete(key);
    this.#recent.set(key, { target, receivedAt: now });
    const clients = (this.#options.aedes as unknown as { clients: Record<string, Client> }).clients;
    // A clientId names one connection per broker: look only there when the notice names one.
    const candidates = 'clientId' in target ? [clients[target.clientId]] : Object.values(clients);
    const ending = candidates.filter(
      (client): client is Client => client !== undefined && !client.closed && matches(this.#options.principals.get(client), target),
    );
    await Promise.all(ending.map((client) => this.#close(client, target)));
    return ending.length;
  }

  #checkLateConnect(client: Client): void {
    if (this.#recent.size === 0) return;
    this.#forgetOld(performance.now());
    const principal = this.#options.principals.get(client);
    const checkedAt = this.#options.principals.checkedAt(client);
    if (checkedAt === undefined) return;
    const late = keysNaming(principal)
      .map((key) => this.#recent.get(key))
      .find((recent) => recent !== undefined && recent.receivedAt >= checkedAt);
    // After the CONNECT sequence has run its course: closing inside aedes' 'client' event would cut it short.
    if (late) setImmediate(() => void this.#close(client, late.target));
  }

  #forgetOld(now: number): void {
    for (const [key, recent] of this.#recent) {
      if (now - recent.receivedAt <= lateConnectWindowMs) return;
      this.#recent.delete(key);
    }
  }

  async #close(client: Client, target: Target): Promise<void> {
    if (client.closed) return;
    const principal = this.#options.principals.get(client);
    const facts = {
      broker: this.#options.broker,
      clientId: client.id,
      accountId: principal?.accountId ?? null,
      ...(principal?.certificateSerial ? { serial: principal.certificateSerial } : {}),
      ...(principal?.provisionRequestId ? { provisionRequestId: principal.provisionRequestId } : {}),
      ...(principal?.factorySerial ? { factorySerial: principal.factorySerial } : {}),
      ...(principal?.enrollmentGroupId ? { enrollmentGroupId: principal.enrollmentGroupId } : {}),
      notice: target.kind,
      cause: target.cause,
    };
    await new Promise<void>((resolve) => client.close(() => resolve()));
    this.#options.log.info(facts, 'live session ended');
    this.#options.store
      .appendAudit({
        type: 'session.ended',
        outcome: 'success',
        actor: 'broker',
        accountId: facts.accountId,
        clientId: client.id,
        provisionRequestId: principal?.provisionRequestId ?? null,
        detail: facts,
      })
      .catch((error: unknown) => this.#options.log.warn({ err: error }, 'audit event not written'));
  }
}

/** The all-in-one process: a notice is applied to its brokers before endSessions resolves. */
export function localSessionEnder(terminators: readonly SessionTerminator[]): SessionEnder {
  return {
    async endSessions(notice) {
      await Promise.all(terminators.map((terminator) => terminator.end(notice)));
    },
  };
}
