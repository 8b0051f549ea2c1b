import type Database from 'better-sqlite3';
import { PlatformError } from '../../errors/platform-error.ts';

/**
 * Versioned schema migrations. PRAGMA user_version holds the number of migrations applied; a
 * migration is never edited once released, a change is a new entry at the end.
 * Times are epoch milliseconds; arrays and objects are JSON text.
 */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    description: 'accounts, provision requests, configurations, bundles, certificates, audit, settings',
    sql: `
      CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        broker_url TEXT,
        configuration_template TEXT NOT NULL,
        default_bundle_ids TEXT NOT NULL,
        created_on INTEGER NOT NULL,
        modified_on INTEGER NOT NULL,
        version INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX accounts_by_creation ON accounts (created_on, id);

      CREATE TABLE provision_requests (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts (id),
        client_id TEXT NOT NULL,
        username TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        activation_key_hash TEXT,
        activates_on INTEGER NOT NULL,
        expires_on INTEGER NOT NULL,
        retry_max_attempts INTEGER NOT NULL,
        retry_count INTEGER NOT NULL,
        overwrite_if_duplicate INTEGER NOT NULL CHECK (overwrite_if_duplicate IN (0, 1)),
        status TEXT NOT NULL CHECK (status IN ('ENABLED', 'DISABLED')),
        job_status TEXT NOT NULL,
        configuration_id TEXT,
        bundle_ids TEXT NOT NULL,
        current_request_id TEXT,
        certificate_serial TEXT,
        created_on INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        modified_on INTEGER NOT NULL,
        modified_by TEXT NOT NULL,
        version INTEGER NOT NULL,
        UNIQUE (account_id, client_id)
      ) STRICT;
      -- Devices of all accounts share the provision topics, so a clientId may be ENABLED only once.
      CREATE UNIQUE INDEX provision_requests_one_enabled_per_client
        ON provision_requests (client_id) WHERE status = 'ENABLED';
      CREATE INDEX provision_requests_by_creation ON provision_requests (created_on, id);
      CREATE INDEX provision_requests_by_account ON provision_requests (account_id, created_on, id);

      CREATE TABLE configurations (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts (id),
        name TEXT NOT NULL,
        content TEXT NOT NULL,
        created_on INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX configurations_by_account ON configurations (account_id, created_on, id);

      CREATE TABLE bundles (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts (id),
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        created_on INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX bundles_by_account ON bundles (account_id, created_on, id);

      -- Certificates outlive accounts and requests (revocation must still be checkable): no foreign keys.
      CREATE TABLE certificates (
        serial TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        provision_request_id TEXT,
        pem TEXT NOT NULL,
        not_before INTEGER NOT NULL,
        not_after INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('VALID', 'REVOKED')),
        revoked_on INTEGER,
        revocation_reason TEXT,
        created_on INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX certificates_by_creation ON certificates (created_on, serial);
      CREATE INDEX certificates_by_account ON certificates (account_id, created_on, serial);
      CREATE INDEX certificates_revoked ON certificates (revoked_on) WHERE status = 'REVOKED';

      -- AUTOINCREMENT: ids are never reused, so they keep increasing even after deletions.
      CREATE TABLE audit_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time INTEGER NOT NULL,
        type TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
        actor TEXT NOT NULL,
        account_id TEXT,
        client_id TEXT,
        provision_request_id TEXT,
        detail TEXT NOT NULL
      ) STRICT;
      CREATE INDEX audit_events_by_account ON audit_events (account_id, id);
      CREATE INDEX audit_events_by_client ON audit_events (client_id, id);
      CREATE INDEX audit_events_by_request ON audit_events (provision_request_id, id);

      CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    description: 'devices',
    sql: `
      -- Like certificates, device records outlive nothing they reference: no foreign keys.
      -- The primary key serves listing in (account_id, client_id) order, with or without an account.
      CREATE TABLE devices (
        account_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        online INTEGER NOT NULL CHECK (online IN (0, 1)),
        certificate_serial TEXT,
        expected_configuration_hash TEXT,
        reported_configuration_hash TEXT,
        provisioned_on INTEGER,
        last_birth_on INTEGER,
        last_seen_on INTEGER,
        modified_on INTEGER NOT NULL,
        PRIMARY KEY (account_id, client_id)
      ) STRICT;
      -- Listing online (or offline) devices, of all accounts or of one, in listing order.
      CREATE INDEX devices_by_online ON devices (online, account_id, client_id);
    `,
  },
  {
    version: 3,
    description: 'lookups by clientId',
    sql: `
      -- The provisioner and the birth handler look requests and certificates up by clientId
      -- across accounts; without these every lookup scanned the table.
      CREATE INDEX provision_requests_by_client ON provision_requests (client_id, created_on, id);
      CREATE INDEX certificates_by_client ON certificates (client_id, created_on, serial);
    `,
  },
  {
    version: 4,
    description: 'device facts of the last provisioning attempt',
    sql: `
      -- What the device said about itself (PROTOCOL.md §5); NULL = not sent, or no attempt yet.
      -- No index: they are shown, never searched.
      ALTER TABLE provision_requests ADD COLUMN device_model TEXT;
      ALTER TABLE provision_requests ADD COLUMN device_serial TEXT;
      ALTER TABLE provision_requests ADD COLUMN device_firmware TEXT;
    `,
  },
  {
    version: 5,
    description: 'certificate renewal (CERT-V1)',
    sql: `
      -- NULL for every certificate issued before (and by provisioning): it renews nothing.
      ALTER TABLE certificates ADD COLUMN renews_serial TEXT;
      ALTER TABLE certificates ADD COLUMN renewal_request_id TEXT;
      ALTER TABLE certificates ADD COLUMN renewal_settled_on INTEGER;
      -- The grace sweep reads the pending renewals, oldest first; settled ones leave the index.
      CREATE INDEX certificates_unsettled_renewals ON certificates (created_on, serial)
        WHERE renews_serial IS NOT NULL AND renewal_settled_on IS NULL;
    `,
  },
  {
    version: 6,
    description: 'one certificate per CERT-V1 renewal request.id of a device',
    sql: `
      -- Two copies of one request handled at once could each record a certificate; the oldest
      -- keeps the request.id (a repeat gets it), the others no longer answer one.
      UPDATE certificates SET renewal_request_id = NULL
        WHERE renewal_request_id IS NOT NULL
          AND serial NOT IN (
            SELECT (SELECT c.serial FROM certificates c
                      WHERE c.account_id = g.account_id AND c.client_id = g.client_id AND c.renewal_request_id = g.renewal_request_id
                      ORDER BY c.created_on, c.serial LIMIT 1)
              FROM certificates g WHERE g.renewal_request_id IS NOT NULL
              GROUP BY g.account_id, g.client_id, g.renewal_request_id);
      CREATE UNIQUE INDEX certificates_by_renewal_request ON certificates (account_id, client_id, renewal_request_id)
        WHERE renewal_request_id IS NOT NULL;
    `,
  },
];

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Applies the pending migrations in one IMMEDIATE transaction (the version is re-read under the
 * write lock, so two processes opening the same file cannot both migrate; a failing migration
 * leaves the database as it was). Returns the versions applied; empty when the schema was current.
 */
export function applyMigrations(db: Database.Database, list: readonly Migration[] = migrations): number[] {
  const migrate = db.transaction((): number[] => {
    const current = schemaVersion(db);
    if (current > list.length) {
      throw new PlatformError('STORE_UNAVAILABLE', {
        detail: `the database schema (version ${current}) is newer than this platform (version ${list.length})`,
      });
    }
    const applied: number[] = [];
    for (const migration of list.slice(current)) {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
      applied.push(migration.version);
    }
    return applied;
  });
  return migrate.immediate();
}
