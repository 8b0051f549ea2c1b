import { buildAuditEvent, pageWindow } from '../records.ts';
import type { AuditEvent, AuditFilter, NewAuditEvent, Page } from '../types.ts';
import { auditEventFromRow, auditEventToRow, type AuditEventRow } from './row-mapping.ts';
import { Conditions, selectPage, type SqlRunner } from './sql-runner.ts';

/** The append-only audit log; ids come from AUTOINCREMENT, so they only ever increase. */
export class SqliteAudit {
  constructor(private readonly sql: SqlRunner) {}

  append(input: NewAuditEvent): AuditEvent {
    const event = buildAuditEvent(input, Date.now());
    const { lastInsertRowid } = this.sql.run(
      `INSERT INTO audit_events (time, type, outcome, actor, account_id, client_id, provision_request_id, detail)
       VALUES (@time, @type, @outcome, @actor, @account_id, @client_id, @provision_request_id, @detail)`,
      auditEventToRow(event),
    );
    return { id: String(lastInsertRowid), ...event };
  }

  /** The oldest `limit` events and the newest id, from one snapshot; both read along the primary key. */
  oldest(limit: number): { events: AuditEvent[]; newestId: number | null } {
    return this.sql.read(() => ({
      events: this.sql.all<AuditEventRow>('SELECT * FROM audit_events ORDER BY id LIMIT ?', limit).map(auditEventFromRow),
      newestId: this.sql.get<{ newest: number | null }>('SELECT max(id) AS newest FROM audit_events')?.newest ?? null,
    }));
  }

  /** Deletes the events with ids up to lastId (a range of the primary key); answers how many. */
  deleteThrough(lastId: string): number {
    return this.sql.run('DELETE FROM audit_events WHERE id <= ?', Number(lastId)).changes;
  }

  list(filter: AuditFilter = {}): Page<AuditEvent> {
    const conditions = new Conditions()
      .equal('account_id', filter.accountId)
      .equal('client_id', filter.clientId)
      .equal('provision_request_id', filter.provisionRequestId)
      .equal('type', filter.type)
      .atLeast('time', filter.startDate)
      .atMost('time', filter.endDate);
    return selectPage<AuditEventRow, AuditEvent>(this.sql, 'audit_events', conditions, 'id', pageWindow(filter), auditEventFromRow);
  }
}
