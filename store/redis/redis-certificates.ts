import { PlatformError } from '../../errors/platform-error.ts';
import { buildCertificate, pageWindow, refusal, revokedCertificate, withRenewalFields } from '../records.ts';
import type { CertificateFilter, IssuedCertificate, NewCertificate, Page } from '../types.ts';
import { clientIdIndexesReady } from './client-id-index.ts';
import { loadStrings, pageFromIndex, pageOfRecords } from './index-paging.ts';
import { recordCertificateScript, revokeCertificateScript, settleRenewalScript } from './record-scripts.ts';
import { parseRecord, type RedisContext } from './redis-context.ts';
import { retry, retryWhileChanged } from './script-runner.ts';

/** A stored record; those written before CERT-V1 get the renewal fields as null. */
function parseCertificate(json: string): IssuedCertificate {
  return withRenewalFields(parseRecord<IssuedCertificate>(json));
}

/** Where a certificate stands in the certificate indexes: createdOn, then serial. */
function byCreation(certificate: IssuedCertificate): { score: number; member: string } {
  return { score: certificate.createdOn, member: certificate.serial };
}

export class RedisCertificates {
  constructor(private readonly context: RedisContext) {}

  async record(input: NewCertificate): Promise<IssuedCertificate> {
    const { keys, scripts } = this.context;
    const certificate = buildCertificate(input, Date.now());
    await scripts.run(
      recordCertificateScript,
      [
        keys.certificate(certificate.serial),
        keys.certificates(),
        keys.accountCertificates(certificate.accountId),
        keys.clientCertificates(certificate.clientId),
        keys.unsettledRenewals(),
        keys.renewalRequest(certificate.accountId, certificate.renewalRequestId ?? '', certificate.clientId),
      ],
      [
        certificate.serial,
        JSON.stringify(certificate),
        certificate.createdOn,
        certificate.renewsSerial === null ? '0' : '1',
        certificate.renewalRequestId === null ? '0' : '1',
      ],
    );
    return certificate;
  }

  async get(serial: string): Promise<IssuedCertificate | null> {
    const json = await this.context.redis.get(this.context.keys.certificate(serial));
    return json ? parseCertificate(json) : null;
  }

  /**
   * Filtered by clientId, the listing reads that client's certificates through
   * client-certificates:{clientId} (a few: one per provisioning and renewal) instead of every
   * certificate of the store or account: what completion asks (its device's VALID ones). The
   * answer is the one the index listing would give (same order, total and window).
   */
  async list(filter: CertificateFilter = {}): Promise<Page<IssuedCertificate>> {
    const { redis, keys } = this.context;
    const { accountId, clientId, status } = filter;
    const matches = (certificate: IssuedCertificate) =>
      (accountId === undefined || certificate.accountId === accountId) &&
      (clientId === undefined || certificate.clientId === clientId) &&
      (status === undefined || certificate.status === status);
    if (clientId !== undefined) {
      return pageOfRecords(await this.ofClient(clientId), matches, byCreation, pageWindow(filter));
    }
    return pageFromIndex(
      redis,
      {
        index: accountId === undefined ? keys.certificates() : keys.accountCertificates(accountId),
        load: (serials) =>
          loadStrings(
            redis,
            serials.map((serial) => keys.certificate(serial)),
          ),
        parse: parseCertificate,
        matches: status === undefined ? undefined : matches,
      },
      pageWindow(filter),
    );
  }

  /** Compare-and-set on the stored JSON: of concurrent revocations the first one's time and reason stay. */
  async revoke(serial: string, reason: string): Promise<IssuedCertificate> {
    const { keys, scripts } = this.context;
    return retryWhileChanged(async () => {
      const json = await this.context.redis.get(keys.certificate(serial));
      if (!json) throw new PlatformError('NOT_FOUND', { detail: refusal.certificateNotFound });
      const current = parseCertificate(json);
      if (current.status === 'REVOKED') return current;
      const revoked = revokedCertificate(current, reason, Date.now());
      const { outcome } = await scripts.run(
        revokeCertificateScript,
        [keys.certificate(serial), keys.revokedCertificates()],
        [serial, json, JSON.stringify(revoked), revoked.revokedOn ?? 0],
      );
      return outcome === 'OK' ? revoked : retry;
    });
  }

  /** In order of revocation. */
  async listRevoked(): Promise<IssuedCertificate[]> {
    const { redis, keys } = this.context;
    const serials = await redis.zrange(keys.revokedCertificates(), 0, -1);
    const records = await loadStrings(
      redis,
      serials.map((serial) => keys.certificate(serial)),
    );
    return records.flatMap((json) => (json ? [parseCertificate(json)] : []));
  }

  async listOfClient(clientId: string): Promise<IssuedCertificate[]> {
    return (await this.ofClient(clientId)).sort((a, b) => a.createdOn - b.createdOn || (a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : 0));
  }

  /** Every certificate of the clientId, in no order, through its index (built first in a store written before it existed). */
  private async ofClient(clientId: string): Promise<IssuedCertificate[]> {
    const { redis, keys } = this.context;
    await clientIdIndexesReady(this.context);
    const serials = await redis.smembers(keys.clientCertificates(clientId));
    const records = await loadStrings(
      redis,
      serials.map((serial) => keys.certificate(serial)),
    );
    return records.flatMap((json) => (json ? [parseCertificate(json)] : []));
  }

  /** Compare-and-set on the stored JSON, as revoke. */
  async settleRenewal(serial: string): Promise<boolean> {
    const { keys, scripts } = this.context;
    return retryWhileChanged(async () => {
      const json = await this.context.redis.get(keys.certificate(serial));
      if (!json) throw new PlatformError('NOT_FOUND', { detail: refusal.certificateNotFound });
      const current = parseCertificate(json);
      if (current.renewsSerial === null || current.renewalSettledOn !== null) return false;
      const settled: IssuedCertificate = { ...current, renewalSettledOn: Date.now() };
      const { outcome } = await scripts.run(settleRenewalScript, [keys.certificate(serial), keys.unsettledRenewals()], [serial, json, JSON.stringify(settled)]);
      return outcome === 'OK' ? true : retry;
    });
  }

  async listUnsettledRenewals(createdBefore: number, limit: number): Promise<IssuedCertificate[]> {
    const { redis, keys } = this.context;
    const count = Math.min(1000, Math.max(1, Math.trunc(limit)));
    const serials = await redis.zrangebyscore(keys.unsettledRenewals(), '-inf', `(${createdBefore}`, 'LIMIT', 0, count);
    const records = await loadStrings(
      redis,
      serials.map((serial) => keys.certificate(serial)),
    );
    return records.flatMap((json) => (json ? [parseCertificate(json)] : []));
  }
}
