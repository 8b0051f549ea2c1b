import type { Aedes, Client } from 'aedes';

/**
 * Whether a client with this clientId is connected to THIS broker process. In a cluster the
 * topic space is shared but connections are not: aedes keeps its own clients in `clients` (not in
 * its published types), one per clientId, and a process tells only the devices it holds.
 */
export function isConnectedHere(aedes: Aedes, clientId: string): boolean {
  const client = (aedes as unknown as { clients: Record<string, Client | undefined> }).clients[clientId];
  return client !== undefined && !client.closed;
}
