import type { Logger } from '../log/logger.ts';
import type { NewAuditEvent, ProvisionStore } from '../store/types.ts';

/** Audit writes never fail a provisioning step; a lost audit event is logged instead. */
export async function audit(store: ProvisionStore, log: Logger, event: NewAuditEvent): Promise<void> {
  try {
    await store.appendAudit(event);
  } catch (error) {
    log.warn({ err: error, type: event.type }, 'audit event not written');
  }
}
