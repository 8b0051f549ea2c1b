import type { ClientIdHolders } from './types.ts';

/** A (clientId, accountId) pair read by a backend: a request, or a VALID certificate. */
export interface ClientIdClaim {
  readonly clientId: string;
  readonly accountId: string;
}

/** findClientIdHolders' answer from what a backend read; both backends build it here, so they agree. */
export function clientIdHoldersFrom(requests: readonly ClientIdClaim[], validCertificates: readonly ClientIdClaim[]): Map<string, ClientIdHolders> {
  const sets = new Map<string, { requests: Set<string>; certificates: Set<string> }>();
  const entry = (clientId: string) => {
    let found = sets.get(clientId);
    if (!found) sets.set(clientId, (found = { requests: new Set(), certificates: new Set() }));
    return found;
  };
  for (const claim of requests) entry(claim.clientId).requests.add(claim.accountId);
  for (const claim of validCertificates) entry(claim.clientId).certificates.add(claim.accountId);
  const holders = new Map<string, ClientIdHolders>();
  for (const [clientId, { requests: byRequest, certificates: byCertificate }] of sets) {
    holders.set(clientId, { requestAccountIds: [...byRequest].sort(), validCertificateAccountIds: [...byCertificate].sort() });
  }
  return holders;
}
