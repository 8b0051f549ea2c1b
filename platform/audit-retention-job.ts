import type { PlatformConfig } from '../config/schema.ts';
import type { Logger } from '../log/logger.ts';
import { AuditRetention } from '../store/audit-retention.ts';
import type { ProvisionStore } from '../store/types.ts';

/**
 * Starts audit retention as configured, in the one process of a deployment that runs it: the
 * all-in-one process, or the API process of a cluster (one per cluster; a second one would only
 * repeat deletions, which are idempotent, and could archive a batch twice).
 */
export function startAuditRetention(config: PlatformConfig, store: ProvisionStore, log: Logger): AuditRetention {
  const settings = {
    retentionDays: config.auditRetentionDays,
    maxEvents: config.auditMaxEvents,
    intervalMs: config.auditRetentionIntervalSeconds * 1000,
    archiveDir: config.auditArchiveDir,
  };
  return new AuditRetention(store, settings, log.child({ component: 'audit-retention' })).start();
}
