import { clientIdHoldersFrom, type ClientIdClaim } from '../client-id-holders.ts';
import type { ClientIdHolders, IssuedCertificate, ProvisionRequest } from '../types.ts';
import { loadStrings } from './index-paging.ts';
import { parseRecord, type RedisContext } from './redis-context.ts';

/** Settings field set once the clientId indexes hold every request and certificate of the store. */
const indexBuiltSetting = 'store:client-id-index';
const scanChunk = 1000;

type ClientRecord = Pick<ProvisionRequest, 'clientId' | 'accountId'> & Partial<Pick<IssuedCertificate, 'serial' | 'status'>>;

/**
 * findClientIdHolders on two indexes by clientId that only grow, written by the request and
 * certificate scripts: client-accounts:{clientId} (accounts that ever had a request for it) and
 * client-certificates:{clientId} (its serials). Whether an account still has a request is its
 * request-of-client key; whether a certificate is VALID, its record. A store written before the
 * indexes existed gets them built from its records on first use.
 */
export class RedisClientIdHolders {
  private built = false;

  constructor(private readonly context: RedisContext) {}

  async find(clientIds: readonly string[]): Promise<Map<string, ClientIdHolders>> {
    if (clientIds.length === 0) return new Map();
    await this.buildOnce();
    const { redis, keys } = this.context;
    const wanted = [...new Set(clientIds)];
    const reads = redis.pipeline();
    for (const clientId of wanted) reads.smembers(keys.clientAccounts(clientId)).smembers(keys.clientCertificates(clientId));
    const sets = ((await reads.exec()) ?? []).map(([error, members]) => {
      if (error) throw error;
      return members as string[];
    });
    const candidates = wanted.flatMap((clientId, i) => sets[2 * i]!.map((accountId) => ({ clientId, accountId })));
    const serials = wanted.flatMap((_, i) => sets[2 * i + 1]!);
    const [requestIds, certificates] = await Promise.all([
      loadStrings(
        redis,
        candidates.map(({ accountId, clientId }) => keys.requestOfClient(accountId, clientId)),
      ),
      loadStrings(
        redis,
        serials.map((serial) => keys.certificate(serial)),
      ),
    ]);
    const requests = candidates.filter((_, i) => requestIds[i] !== null);
    const valid = certificates.flatMap((json): ClientIdClaim[] => {
      if (!json) return [];
      const certificate = parseRecord<IssuedCertificate>(json);
      return certificate.status === 'VALID' ? [{ clientId: certificate.clientId, accountId: certificate.accountId }] : [];
    });
    return clientIdHoldersFrom(requests, valid);
  }

  private async buildOnce(): Promise<void> {
    if (this.built) return;
    const { redis, keys } = this.context;
    if ((await redis.hget(keys.settings(), indexBuiltSetting)) === null) {
      // Writers running meanwhile add to the indexes themselves; adding twice changes nothing.
      await this.addAll(
        keys.requests(),
        (id) => keys.request(id),
        (record) => [keys.clientAccounts(record.clientId), record.accountId],
      );
      await this.addAll(
        keys.certificates(),
        (serial) => keys.certificate(serial),
        (record) => [keys.clientCertificates(record.clientId), record.serial ?? ''],
      );
      await redis.hset(keys.settings(), indexBuiltSetting, '1');
    }
    this.built = true;
  }

  /** Adds every record of a listing index to its clientId's set: entry names the set and the member. */
  private async addAll(index: string, recordKey: (member: string) => string, entry: (record: ClientRecord) => [set: string, member: string]): Promise<void> {
    const { redis } = this.context;
    for (let start = 0; ; start += scanChunk) {
      const members = await redis.zrange(index, start, start + scanChunk - 1);
      const writes = redis.pipeline();
      for (const json of await loadStrings(redis, members.map(recordKey))) {
        if (!json) continue;
        writes.sadd(...entry(parseRecord<ClientRecord>(json)));
      }
      if (writes.length > 0) await writes.exec();
      if (members.length < scanChunk) return;
    }
  }
}
