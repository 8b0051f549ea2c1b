import { PlatformError } from '../../errors/platform-error.ts';
import { buildCertificate, pageWindow, refusal, revokedCertificate } from '../records.ts';
import type { CertificateFilter, IssuedCertificate, NewCertificate, Page } from '../types.ts';
import { certificateFromRow, certificateToRow, type CertificateRow } from './row-mapping.ts';
import { Conditions, selectPage, type SqlRunner } from './sql-runner.ts';

const insertCertificate = `
  INSERT INTO certificates (
    serial, account_id, client_id, provision_request_id, pem, not_before, not_after, status, revoked_on,
    revocation_reason, created_on, renews_serial, renewal_request_id, renewal_settled_on)
  VALUES (
    @serial, @account_id, @client_id, @provision_request_id, @pem, @not_before, @not_after, @status, @revoked_on,
    @revocation_reason, @created_on, @renews_serial, @renewal_request_id, @renewal_settled_on)`;

export class SqliteCertificates {
  constructor(private readonly sql: SqlRunner) {}

  /** A taken serial violates the primary key, which sqlite-errors.ts maps to DUPLICATE. */
  record(input: NewCertificate): IssuedCertificate {
    const certificate = buildCertificate(input, Date.now());
    this.sql.run(insertCertificate, certificateToRow(certificate));
    return certificate;
  }

  get(serial: string): IssuedCertificate | null {
    const row = this.sql.get<CertificateRow>('SELECT * FROM certificates WHERE serial = ?', serial);
    return row ? certificateFromRow(row) : null;
  }

  list(filter: CertificateFilter = {}): Page<IssuedCertificate> {
    const conditions = new Conditions().equal('account_id', filter.accountId).equal('client_id', filter.clientId).equal('status', filter.status);
    return selectPage(this.sql, 'certificates', conditions, 'created_on, serial', pageWindow(filter), certificateFromRow);
  }

  /** The first revocation wins: a second one returns the certificate unchanged. */
  revoke(serial: string, reason: string): IssuedCertificate {
    return this.sql.write(() => {
      const current = this.get(serial);
      if (!current) throw new PlatformError('NOT_FOUND', { detail: refusal.certificateNotFound });
      if (current.status === 'REVOKED') return current;
      const revoked = revokedCertificate(current, reason, Date.now());
      this.sql.run(
        "UPDATE certificates SET status = 'REVOKED', revoked_on = ?, revocation_reason = ? WHERE serial = ?",
        revoked.revokedOn,
        revoked.revocationReason,
        serial,
      );
      return revoked;
    });
  }

  listOfClient(clientId: string): IssuedCertificate[] {
    return this.sql.all<CertificateRow>('SELECT * FROM certificates WHERE client_id = ? ORDER BY created_on, serial', clientId).map(certificateFromRow);
  }

  settleRenewal(serial: string): boolean {
    return this.sql.write(() => {
      if (!this.get(serial)) throw new PlatformError('NOT_FOUND', { detail: refusal.certificateNotFound });
      const { changes } = this.sql.run(
        'UPDATE certificates SET renewal_settled_on = ? WHERE serial = ? AND renews_serial IS NOT NULL AND renewal_settled_on IS NULL',
        Date.now(),
        serial,
      );
      return changes > 0;
    });
  }

  listUnsettledRenewals(createdBefore: number, limit: number): IssuedCertificate[] {
    return this.sql
      .all<CertificateRow>(
        'SELECT * FROM certificates WHERE renews_serial IS NOT NULL AND renewal_settled_on IS NULL AND created_on < ? ORDER BY created_on, serial LIMIT ?',
        createdBefore,
        Math.min(1000, Math.max(1, Math.trunc(limit))),
      )
      .map(certificateFromRow);
  }

  listRevoked(): IssuedCertificate[] {
    return this.sql.all<CertificateRow>("SELECT * FROM certificates WHERE status = 'REVOKED' ORDER BY revoked_on, serial").map(certificateFromRow);
  }
}
