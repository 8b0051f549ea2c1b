import { Readable } from 'node:stream';
import type { BrokerPersistence } from './shared-state.ts';

interface WillOwner {
  readonly id: string;
  readonly brokerId?: string;
}

/**
 * aedes-persistence-redis made to fit aedes 1.x, and (cleanSessionsInMemory) keeps what clean-session clients without a last will cost Redis out of Redis. aedes deletes a
 * client's stored will at every CONNECT and at every DISCONNECT (three Redis commands each time),
 * whether or not the client ever had one. A will is stored under this broker's id, which is new at
 * every start, so only wills put by this process can exist: their owners are remembered here and
 * every other delWill is answered at once. Sessions, subscriptions and queued messages of
 * persistent clients still go to Redis untouched. Measured effect: README, "Scale-out".
 */
export function adaptRedisPersistence(inner: BrokerPersistence, options: { readonly cleanSessionsInMemory: boolean }): BrokerPersistence {
  let ownBrokerId: string | undefined;
  const willOwners = new Set<string>();
  // aedes passes the Client itself at CONNECT (no brokerId: the key it deletes never exists) and
  // {id, brokerId} elsewhere; wills of other, dead brokers must still be deleted in Redis.
  const mine = (client: WillOwner): boolean => client.brokerId === undefined || client.brokerId === ownBrokerId;
  // aedes 1.x pipes these; aedes-persistence-redis 11 answers async generators.
  const streams = Object.fromEntries(
    ['createRetainedStreamCombi', 'createRetainedStream', 'outgoingStream', 'getClientList'].map((name) => [
      name,
      (...args: unknown[]) => Readable.from((inner[name] as (...a: unknown[]) => AsyncIterable<unknown>).apply(inner, args)),
    ]),
  );
  const willShortcut: Record<string, unknown> = {
    async setup(broker: { id: string }) {
      ownBrokerId = broker.id;
      return inner.setup(broker);
    },
    async putWill(client: WillOwner, packet: unknown) {
      willOwners.add(client.id);
      return (inner['putWill'] as (c: WillOwner, p: unknown) => Promise<unknown>).call(inner, client, packet);
    },
    async delWill(client: WillOwner) {
      if (mine(client) && !willOwners.has(client.id)) return null;
      if (mine(client) && client.brokerId !== undefined) willOwners.delete(client.id);
      return (inner['delWill'] as (c: WillOwner) => Promise<unknown>).call(inner, client);
    },
  };
  const overrides: Record<string, unknown> = { ...streams, ...(options.cleanSessionsInMemory ? willShortcut : {}) };
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (typeof property === 'string' && property in overrides) return overrides[property];
      const value: unknown = Reflect.get(target, property, receiver);
      // The Redis persistence keeps its state in private fields: call its methods on itself.
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
