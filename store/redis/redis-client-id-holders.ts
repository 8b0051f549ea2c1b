import { clientIdHoldersFrom, type ClientIdClaim } from '../client-id-holders.ts';
import type { ClientIdHolders, IssuedCertificate } from '../types.ts';
import { clientIdIndexesReady } from './client-id-index.ts';
import { loadStrings } from './index-paging.ts';
import { parseRecord, type RedisContext } from './redis-context.ts';

/**
 * findClientIdHolders on two indexes by clientId that only grow, written by the request and
 * certificate scripts: client-accounts:{clientId} (accounts that ever had a request for it) and
 * client-certificates:{clientId} (its serials). Whether an account still has a request is its
 * request-of-client key; whether a certificate is VALID, its record. A store written before the
 * indexes existed gets them built from its records on first use (client-id-index.ts).
 */
export class RedisClientIdHolders {
  constructor(private readonly context: RedisContext) {}

  async find(clientIds: readonly string[]): Promise<Map<string, ClientIdHolders>> {
    if (clientIds.length === 0) return new Map();
    await clientIdIndexesReady(this.context);
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
}
