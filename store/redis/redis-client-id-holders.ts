import { clientIdHoldersFrom, type ClientIdClaim } from '../client-id-holders.ts';
import type { ClientIdHolders, IssuedCertificate, ProvisionRequest } from '../types.ts';
import { loadStrings } from './index-paging.ts';
import { parseRecord, type RedisContext } from './redis-context.ts';

const scanChunk = 1000;

/** Every record of a sorted-set index whose clientId is one of `wanted`, read in chunks. */
async function claimsIn(
  context: RedisContext,
  index: string,
  recordKey: (member: string) => string,
  wanted: ReadonlySet<string>,
  keep: (record: { clientId: string; accountId: string; status?: string }) => boolean,
): Promise<ClientIdClaim[]> {
  const claims: ClientIdClaim[] = [];
  for (let start = 0; ; start += scanChunk) {
    const members = await context.redis.zrange(index, start, start + scanChunk - 1);
    for (const json of await loadStrings(context.redis, members.map(recordKey))) {
      if (!json) continue;
      const record = parseRecord<Pick<ProvisionRequest, 'clientId' | 'accountId'> & Partial<Pick<IssuedCertificate, 'status'>>>(json);
      if (wanted.has(record.clientId) && keep(record)) claims.push({ clientId: record.clientId, accountId: record.accountId });
    }
    if (members.length < scanChunk) return claims;
  }
}

/**
 * findClientIdHolders. Redis keeps no index by clientId across accounts, so this reads the
 * request and certificate indexes once each, whatever the number of clientIds asked about:
 * its cost grows with the store, as listProvisionRequests and listCertificates filtered by
 * clientId do.
 */
export async function findClientIdHolders(context: RedisContext, clientIds: readonly string[]): Promise<Map<string, ClientIdHolders>> {
  if (clientIds.length === 0) return new Map();
  const { keys } = context;
  const wanted = new Set(clientIds);
  const [requests, certificates] = await Promise.all([
    claimsIn(context, keys.requests(), (id) => keys.request(id), wanted, () => true),
    claimsIn(context, keys.certificates(), (serial) => keys.certificate(serial), wanted, (record) => record.status === 'VALID'),
  ]);
  return clientIdHoldersFrom(requests, certificates);
}
