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
  {
    version: 7,
    description: 'device registry (issue 15): categories, configuration versions, device fields, update jobs, broker heartbeats',
    sql: `
      -- A category belongs to its account: deleting the account deletes them (sqlite-accounts.ts).
      CREATE TABLE categories (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts (id),
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        configuration_id TEXT,
        bundle_ids TEXT NOT NULL,
        created_on INTEGER NOT NULL,
        modified_on INTEGER NOT NULL,
        version INTEGER NOT NULL,
        UNIQUE (account_id, name)
      ) STRICT;

      -- configurations keeps the current version's content; every version, the current one
      -- included, is a row here. The configurations made before are their own version 1.
      ALTER TABLE configurations ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE configurations ADD COLUMN modified_on INTEGER NOT NULL DEFAULT 0;
      UPDATE configurations SET modified_on = created_on;
      CREATE TABLE configuration_versions (
        configuration_id TEXT NOT NULL REFERENCES configurations (id),
        version INTEGER NOT NULL,
        content TEXT NOT NULL,
        created_on INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        PRIMARY KEY (configuration_id, version)
      ) STRICT, WITHOUT ROWID;
      INSERT INTO configuration_versions (configuration_id, version, content, created_on, created_by)
        SELECT id, 1, content, created_on, '' FROM configurations;

      -- What a request gives the device it provisions; only requests naming a category are indexed.
      ALTER TABLE provision_requests ADD COLUMN category TEXT;
      ALTER TABLE provision_requests ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
      CREATE INDEX provision_requests_by_category ON provision_requests (account_id, category, created_on, id)
        WHERE category IS NOT NULL;

      -- The registry's fields. Devices recorded before get an opaque id of their own.
      ALTER TABLE devices ADD COLUMN id TEXT NOT NULL DEFAULT '';
      UPDATE devices SET id = lower(hex(randomblob(16)));
      CREATE UNIQUE INDEX devices_by_id ON devices (id);
      ALTER TABLE devices ADD COLUMN broker_id TEXT;
      ALTER TABLE devices ADD COLUMN category TEXT;
      ALTER TABLE devices ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE devices ADD COLUMN model TEXT;
      ALTER TABLE devices ADD COLUMN serial TEXT;
      ALTER TABLE devices ADD COLUMN firmware TEXT;
      ALTER TABLE devices ADD COLUMN certificate_not_after INTEGER;
      ALTER TABLE devices ADD COLUMN configuration_id TEXT;
      ALTER TABLE devices ADD COLUMN configuration_version INTEGER;
      ALTER TABLE devices ADD COLUMN configuration_state TEXT CHECK (configuration_state IN ('PENDING', 'APPLIED', 'REFUSED'));
      ALTER TABLE devices ADD COLUMN configuration_error TEXT;
      ALTER TABLE devices ADD COLUMN bundles TEXT NOT NULL DEFAULT '[]';
      -- Listing an account's devices of one category, in listing order.
      CREATE INDEX devices_by_category ON devices (account_id, category, client_id) WHERE category IS NOT NULL;
      -- Marking offline the devices of a broker process that died: only online devices are indexed.
      CREATE INDEX devices_online_by_broker ON devices (broker_id) WHERE online = 1;

      -- Jobs are history: like devices, they reference nothing that must outlive them.
      CREATE TABLE update_jobs (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        name TEXT NOT NULL,
        category TEXT,
        tags TEXT NOT NULL,
        client_ids TEXT NOT NULL,
        bundle_ids TEXT NOT NULL,
        configuration_id TEXT,
        configuration_version INTEGER,
        state TEXT NOT NULL CHECK (state IN ('RUNNING', 'PAUSED', 'CANCELLED', 'STOPPED')),
        failure_threshold INTEGER,
        created_on INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        modified_on INTEGER NOT NULL,
        version INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX update_jobs_by_creation ON update_jobs (created_on, id);
      CREATE INDEX update_jobs_by_account ON update_jobs (account_id, created_on, id);

      -- One device's place in one job. The primary key lists a job's devices in clientId order;
      -- the second index finds the jobs that touched a device.
      CREATE TABLE job_devices (
        job_id TEXT NOT NULL REFERENCES update_jobs (id),
        client_id TEXT NOT NULL,
        account_id TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('PENDING', 'SENT', 'DOWNLOADING', 'INSTALLED', 'FAILED')),
        error TEXT,
        modified_on INTEGER NOT NULL,
        PRIMARY KEY (job_id, client_id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX job_devices_by_device ON job_devices (account_id, client_id);

      CREATE TABLE broker_heartbeats (
        broker_id TEXT PRIMARY KEY,
        seen_on INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 8,
    description: 'device registry: the roots each device says it trusts (issue 14 §3, a root rollover)',
    sql: `
      -- SHA-256 (hex) of each root, sorted, as JSON text like tags; devices recorded before said nothing.
      ALTER TABLE devices ADD COLUMN trusted_roots TEXT NOT NULL DEFAULT '[]';
    `,
  },
  {
    version: 9,
    description: 'webhooks: where events are delivered, each with its cursor over the audit log, and its recent attempts (issue 17 §2)',
    sql: `
      -- account_id NULL: a global webhook. event_types: JSON array text. cursor: the audit id last delivered or passed over.
      -- lease_holder/lease_until: the process delivering it (one at a time in a cluster).
      CREATE TABLE webhooks (
        id TEXT PRIMARY KEY,
        account_id TEXT,
        url TEXT NOT NULL,
        event_types TEXT NOT NULL,
        sealed_secret TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        cursor INTEGER NOT NULL,
        lease_holder TEXT,
        lease_until INTEGER NOT NULL DEFAULT 0,
        created_on INTEGER NOT NULL,
        modified_on INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE webhook_attempts (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        webhook_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        attempted_on INTEGER NOT NULL,
        status INTEGER,
        delivered INTEGER NOT NULL,
        error TEXT
      ) STRICT;
      CREATE INDEX webhook_attempts_by_webhook ON webhook_attempts (webhook_id, seq);
    `,
  },
  {
    version: 10,
    description: 'zero-touch onboarding (issue 18): manufacturer CAs, factory certificate blocks, enrollment groups, provisioning codes, device assignments',
    sql: `
      -- Platform-wide: the CAs device makers sign factory certificates with. fingerprint_sha256: lower-case hex of the DER.
      CREATE TABLE manufacturer_cas (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        pem TEXT NOT NULL,
        fingerprint_sha256 TEXT NOT NULL UNIQUE,
        subject TEXT NOT NULL,
        not_after INTEGER NOT NULL,
        enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
        created_on INTEGER NOT NULL,
        modified_on INTEGER NOT NULL,
        version INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX manufacturer_cas_by_creation ON manufacturer_cas (created_on, id);

      -- One refused factory certificate each; they go with their CA (sqlite-manufacturer-cas.ts).
      -- The primary key answers the CONNECT check; the index lists a CA's blocks newest first.
      CREATE TABLE factory_certificate_blocks (
        manufacturer_ca_id TEXT NOT NULL REFERENCES manufacturer_cas (id),
        serial TEXT NOT NULL,
        reason TEXT NOT NULL,
        blocked_on INTEGER NOT NULL,
        blocked_by TEXT NOT NULL,
        PRIMARY KEY (manufacturer_ca_id, serial)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX factory_certificate_blocks_by_time ON factory_certificate_blocks (manufacturer_ca_id, blocked_on, serial);

      -- A group keeps its account and its CA from being deleted (the foreign keys back the checks).
      -- Lists are JSON array text, sorted, without repeats.
      CREATE TABLE enrollment_groups (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts (id),
        name TEXT NOT NULL,
        manufacturer_ca_id TEXT NOT NULL REFERENCES manufacturer_cas (id),
        category TEXT,
        configuration_id TEXT,
        bundle_ids TEXT NOT NULL,
        tags TEXT NOT NULL,
        allow_serials TEXT NOT NULL,
        allow_client_ids TEXT NOT NULL,
        deny_serials TEXT NOT NULL,
        deny_client_ids TEXT NOT NULL,
        valid_from INTEGER,
        valid_until INTEGER,
        reprovision_allowed INTEGER NOT NULL CHECK (reprovision_allowed IN (0, 1)),
        provision_broker_url TEXT,
        enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
        created_on INTEGER NOT NULL,
        modified_on INTEGER NOT NULL,
        version INTEGER NOT NULL,
        UNIQUE (account_id, name)
      ) STRICT;
      CREATE INDEX enrollment_groups_by_creation ON enrollment_groups (created_on, id);
      CREATE INDEX enrollment_groups_by_account ON enrollment_groups (account_id, created_on, id);
      -- What the provision broker reads at a factory CONNECT: the groups of one CA.
      CREATE INDEX enrollment_groups_by_manufacturer_ca ON enrollment_groups (manufacturer_ca_id, created_on, id);

      -- code_hash: HMAC of the code, NULL once REGISTERED (the code is gone, the record of who used it stays).
      CREATE TABLE provisioning_codes (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts (id),
        category TEXT,
        code_hash TEXT,
        status TEXT NOT NULL CHECK (status IN ('PENDING', 'REGISTERED')),
        client_id TEXT,
        provision_request_id TEXT,
        created_on INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        expires_on INTEGER NOT NULL,
        registered_on INTEGER
      ) STRICT;
      CREATE UNIQUE INDEX provisioning_codes_by_hash ON provisioning_codes (code_hash) WHERE code_hash IS NOT NULL;
      CREATE INDEX provisioning_codes_by_creation ON provisioning_codes (created_on, id);
      CREATE INDEX provisioning_codes_by_account ON provisioning_codes (account_id, created_on, id);
      -- The sweep of expired PENDING codes.
      CREATE INDEX provisioning_codes_by_expiry ON provisioning_codes (status, expires_on);

      -- Platform-wide, by the factory certificate's CN. No foreign key: the group may be another instance's.
      CREATE TABLE device_assignments (
        client_id TEXT PRIMARY KEY,
        enrollment_group_id TEXT,
        provision_broker_url TEXT,
        modified_on INTEGER NOT NULL,
        modified_by TEXT NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX device_assignments_by_change ON device_assignments (modified_on, client_id);
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
