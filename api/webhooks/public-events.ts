/**
 * The events an integrator sees (webhooks and GET /api/v1/events' documented types): a stable,
 * documented list, each named after what happened to a device or request rather than after the
 * audit log's internal types, which may be renamed or split. Defined here once; docs/OPERATIONS.md
 * lists the same names (test/webhooks.test.ts checks the mapping against a real rollout).
 */
import type { AuditEvent } from '../../store/types.ts';

/** Public event type → the audit event types it stands for. */
const auditTypesOf = {
  'request.created': ['request.created'],
  'provisioning.started': ['provision.started'],
  'provisioning.completed': ['provision.completed'],
  'provisioning.failed': ['provision.failed'],
  'device.online': ['device.birth'],
  'device.offline': ['device.offline'],
  'certificate.issued': ['certificate.issued'],
  'certificate.renewed': ['certificate.renewed'],
  'certificate.revoked': ['certificate.revoked'],
  'configuration.applied': ['device.configuration.applied'],
  'configuration.refused': ['device.configuration.refused'],
  'job.device.installed': ['job.device.installed'],
  'job.device.failed': ['job.device.failed'],
} as const satisfies Readonly<Record<string, readonly string[]>>;

export type PublicEventType = keyof typeof auditTypesOf;

/** Every public event type, in documentation order. */
export const publicEventTypes = Object.keys(auditTypesOf) as readonly PublicEventType[];

const publicTypeOfAudit: ReadonlyMap<string, PublicEventType> = new Map(
  Object.entries(auditTypesOf).flatMap(([publicType, auditTypes]) => auditTypes.map((auditType) => [auditType, publicType as PublicEventType] as const)),
);

/** The public type of an audit event; null: integrators are not told of it (e.g. connect.refused). */
export function publicTypeOf(event: Pick<AuditEvent, 'type'>): PublicEventType | null {
  return publicTypeOfAudit.get(event.type) ?? null;
}

/** What a webhook delivery carries as its body (JSON): the audit event under its public type. */
export interface PublicEvent {
  /** The audit event's id: increasing, the same on every delivery of this event (receivers dedupe by it). */
  readonly id: string;
  readonly type: PublicEventType;
  /** ISO 8601. */
  readonly time: string;
  readonly outcome: 'success' | 'failure';
  readonly accountId: string | null;
  readonly clientId: string | null;
  readonly provisionRequestId: string | null;
  /** The audit event's detail (never a secret). */
  readonly data: Record<string, unknown>;
}

export function publicEventOf(event: AuditEvent, type: PublicEventType): PublicEvent {
  return {
    id: event.id,
    type,
    time: new Date(event.time).toISOString(),
    outcome: event.outcome,
    accountId: event.accountId,
    clientId: event.clientId,
    provisionRequestId: event.provisionRequestId,
    data: event.detail,
  };
}
