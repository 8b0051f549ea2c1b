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

/**
 * When each client's current connection to this broker began (its CONNECT was accepted): what
 * tells a birth on a new connection from a birth repeated on the same one. Kept per client object
 * (a WeakMap), so nothing outlives the connection.
 */
export function trackConnectionStarts(aedes: Aedes, now: () => number = Date.now): (clientId: string) => number | null {
  const starts = new WeakMap<Client, number>();
  aedes.on('client', (client) => starts.set(client, now()));
  return (clientId) => {
    const client = (aedes as unknown as { clients: Record<string, Client | undefined> }).clients[clientId];
    return client && !client.closed ? (starts.get(client) ?? null) : null;
  };
}
