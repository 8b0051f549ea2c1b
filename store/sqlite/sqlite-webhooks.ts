import { PlatformError } from '../../errors/platform-error.ts';
import { newRecordId } from '../records.ts';
import type { AuditEvent } from '../types.ts';
import { keptWebhookAttempts, type NewWebhook, type Webhook, type WebhookAttempt, type WebhookPatch } from '../webhook-types.ts';
import { auditEventFromRow, type AuditEventRow } from './row-mapping.ts';
import type { SqlRunner } from './sql-runner.ts';

interface WebhookRow {
  id: string;
  account_id: string | null;
  url: string;
  event_types: string;
  sealed_secret: string;
  enabled: number;
  cursor: number;
  created_on: number;
  modified_on: number;
}

interface AttemptRow {
  webhook_id: string;
  event_id: string;
  event_type: string;
  attempt: number;
  attempted_on: number;
  status: number | null;
  delivered: number;
  error: string | null;
}

function webhookFromRow(row: WebhookRow): Webhook {
  return {
    id: row.id,
    accountId: row.account_id,
    url: row.url,
    eventTypes: JSON.parse(row.event_types) as string[],
    sealedSecret: row.sealed_secret,
    enabled: row.enabled === 1,
    cursor: String(row.cursor),
    createdOn: row.created_on,
    modifiedOn: row.modified_on,
  };
}

function attemptFromRow(row: AttemptRow): WebhookAttempt {
  return {
    webhookId: row.webhook_id,
    eventId: row.event_id,
    eventType: row.event_type,
    attempt: row.attempt,
    attemptedOn: row.attempted_on,
    status: row.status,
    delivered: row.delivered === 1,
    error: row.error,
  };
}

const clamp = (value: number, max: number) => Math.min(Math.max(Math.trunc(value), 1), max);

/** Webhooks, their cursors and leases, and their recent attempts (store/webhook-types.ts). */
export class SqliteWebhooks {
  constructor(private readonly sql: SqlRunner) {}

  create(input: NewWebhook): Webhook {
    const now = Date.now();
    const id = newRecordId(now);
    this.sql.write(() =>
      this.sql.run(
        `INSERT INTO webhooks (id, account_id, url, event_types, sealed_secret, enabled, cursor, created_on, modified_on)
         VALUES (?, ?, ?, ?, ?, ?, (SELECT coalesce(max(id), 0) FROM audit_events), ?, ?)`,
        id,
        input.accountId,
        input.url,
        JSON.stringify([...new Set(input.eventTypes)].sort()),
        input.sealedSecret,
        input.enabled ? 1 : 0,
        now,
        now,
      ),
    );
    return this.get(id)!;
  }

  get(id: string): Webhook | null {
    const row = this.sql.get<WebhookRow>('SELECT * FROM webhooks WHERE id = ?', id);
    return row ? webhookFromRow(row) : null;
  }

  list(): Webhook[] {
    return this.sql.all<WebhookRow>('SELECT * FROM webhooks ORDER BY created_on, id').map(webhookFromRow);
  }

  update(id: string, patch: WebhookPatch): Webhook {
    return this.sql.write(() => {
      const current = this.get(id);
      if (!current) throw new PlatformError('NOT_FOUND', { detail: 'no such webhook' });
      this.sql.run(
        'UPDATE webhooks SET url = ?, event_types = ?, sealed_secret = ?, enabled = ?, cursor = ?, modified_on = ? WHERE id = ?',
        patch.url ?? current.url,
        JSON.stringify([...new Set(patch.eventTypes ?? current.eventTypes)].sort()),
        patch.sealedSecret ?? current.sealedSecret,
        (patch.enabled ?? current.enabled) ? 1 : 0,
        Number(patch.cursor ?? current.cursor),
        Date.now(),
        id,
      );
      return this.get(id)!;
    });
  }

  delete(id: string): void {
    this.sql.write(() => {
      this.sql.run('DELETE FROM webhook_attempts WHERE webhook_id = ?', id);
      this.sql.run('DELETE FROM webhooks WHERE id = ?', id);
    });
  }

  moveCursor(id: string, expected: string, cursor: string): boolean {
    return this.sql.run('UPDATE webhooks SET cursor = ? WHERE id = ? AND cursor = ?', Number(cursor), id, Number(expected)).changes === 1;
  }

  claimLease(id: string, holder: string, now: number, ttlMs: number): boolean {
    return (
      this.sql.run(
        'UPDATE webhooks SET lease_holder = ?, lease_until = ? WHERE id = ? AND (lease_holder IS NULL OR lease_holder = ? OR lease_until <= ?)',
        holder,
        now + ttlMs,
        id,
        holder,
        now,
      ).changes === 1
    );
  }

  recordAttempt(attempt: WebhookAttempt): void {
    this.sql.write(() => {
      const { lastInsertRowid } = this.sql.run(
        `INSERT INTO webhook_attempts (webhook_id, event_id, event_type, attempt, attempted_on, status, delivered, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        attempt.webhookId,
        attempt.eventId,
        attempt.eventType,
        attempt.attempt,
        attempt.attemptedOn,
        attempt.status,
        attempt.delivered ? 1 : 0,
        attempt.error,
      );
      this.sql.run('DELETE FROM webhook_attempts WHERE webhook_id = ? AND seq <= ?', attempt.webhookId, Number(lastInsertRowid) - keptWebhookAttempts);
    });
  }

  listAttempts(webhookId: string, limit: number): WebhookAttempt[] {
    return this.sql
      .all<AttemptRow>('SELECT * FROM webhook_attempts WHERE webhook_id = ? ORDER BY seq DESC LIMIT ?', webhookId, clamp(limit, keptWebhookAttempts))
      .map(attemptFromRow);
  }

  listAuditAfter(afterId: string, limit: number): AuditEvent[] {
    return this.sql
      .all<AuditEventRow>('SELECT * FROM audit_events WHERE id > ? ORDER BY id LIMIT ?', Number(afterId), clamp(limit, 1000))
      .map(auditEventFromRow);
  }
}
