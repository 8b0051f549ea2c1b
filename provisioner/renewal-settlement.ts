import type { SessionEnder } from '../cluster/session-end-notice.ts';
import type { Logger } from '../log/logger.ts';
import type { IssuedCertificate, ProvisionStore } from '../store/types.ts';
import { audit } from './audit.ts';

export interface SettlementDependencies {
  readonly store: ProvisionStore;
  readonly sessions: SessionEnder;
  readonly log: Logger;
}

/** Why a renewal is settled: the device connected with it, or its grace period ended unused. */
export type SettlementCause = 'first-connect' | 'grace-ended';

/**
 * Settles a CERT-V1 renewal (docs/PROTOCOL.md §13, "Old and new certificate"): the certificate it
 * renews is revoked (reason superseded), a session still open with that one is ended, and the
 * renewal becomes the device record's current certificate. A renewal that was itself revoked
 * (a newer renewal replaced it) is only marked settled.
 *
 * Every step is idempotent and the mark comes last, so that a crash in between leaves the
 * renewal unsettled and the next CONNECT with it (or the sweep) does it again; of processes doing
 * it at once, each step's effect happens once.
 */
export async function settleRenewal(deps: SettlementDependencies, renewal: IssuedCertificate, cause: SettlementCause): Promise<void> {
  const oldSerial = renewal.renewsSerial;
  if (oldSerial === null || renewal.renewalSettledOn !== null) return;
  if (renewal.status === 'VALID') {
    const reason = cause === 'first-connect' ? 'superseded: the device connected with its renewed certificate' : 'superseded: renewal grace period ended';
    const revoked = await deps.store.revokeCertificate(oldSerial, reason);
    await deps.sessions.endSessions({ kind: 'certificate', clientId: revoked.clientId, serial: oldSerial, cause: 'superseded' });
    const device = await deps.store.getDevice(renewal.accountId, renewal.clientId);
    // Only forward: a device record that names another certificate than the renewed one was re-provisioned since.
    if (!device || device.certificateSerial === null || device.certificateSerial === oldSerial) {
      await deps.store.upsertDevice(renewal.accountId, renewal.clientId, { certificateSerial: renewal.serial, certificateNotAfter: renewal.notAfter });
    }
    await audit(deps.store, deps.log, {
      type: 'certificate.revoked',
      outcome: 'success',
      actor: 'platform',
      accountId: renewal.accountId,
      clientId: renewal.clientId,
      provisionRequestId: renewal.provisionRequestId,
      detail: { serial: oldSerial, reason: 'superseded', renewedBy: renewal.serial, cause },
    });
  }
  if (await deps.store.settleRenewal(renewal.serial)) {
    deps.log.info({ clientId: renewal.clientId, serial: renewal.serial, renews: oldSerial, cause }, 'certificate renewal settled');
  }
}

/**
 * The grace sweep: settles every renewal created more than graceMs ago and still unsettled, in
 * batches, oldest first. Safe in several processes at once (settleRenewal above). Answers how
 * many it settled.
 */
export async function sweepRenewals(deps: SettlementDependencies, graceMs: number, now: number = Date.now()): Promise<number> {
  let settled = 0;
  for (let round = 0; round < 100; round += 1) {
    const batch = await deps.store.listUnsettledRenewals(now - graceMs, 100);
    for (const renewal of batch) {
      await settleRenewal(deps, renewal, 'grace-ended');
      settled += 1;
    }
    if (batch.length < 100) break;
  }
  return settled;
}
