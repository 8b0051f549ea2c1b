import type { BrokerHeartbeat } from '../types.ts';
import { brokerHeartbeatFromRow, type BrokerHeartbeatRow } from './registry-row-mapping.ts';
import type { SqlRunner } from './sql-runner.ts';

/**
 * Each broker process's last sign of life, so the devices of one killed without recording their
 * disconnects can be marked offline. A heartbeat only moves forward: one that arrives late (an
 * older seenOn) leaves the newer one in place.
 */
export class SqliteBrokerHeartbeats {
  constructor(private readonly sql: SqlRunner) {}

  record(brokerId: string, seenOn: number): void {
    this.sql.run(
      `INSERT INTO broker_heartbeats (broker_id, seen_on) VALUES (?, ?)
       ON CONFLICT (broker_id) DO UPDATE SET seen_on = max(seen_on, excluded.seen_on)`,
      brokerId,
      seenOn,
    );
  }

  list(): BrokerHeartbeat[] {
    return this.sql.all<BrokerHeartbeatRow>('SELECT * FROM broker_heartbeats ORDER BY broker_id').map(brokerHeartbeatFromRow);
  }

  delete(brokerId: string): void {
    this.sql.run('DELETE FROM broker_heartbeats WHERE broker_id = ?', brokerId);
  }
}
