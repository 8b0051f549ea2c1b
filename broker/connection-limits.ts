import { isIPv4, isIPv6 } from 'node:net';
import type { Logger } from '../log/logger.ts';

/** What every MQTT listener enforces before a client is authenticated (listeners.ts). */
export interface ConnectionLimits {
  /** Open connections one source address may hold on a listener; the next one is closed at once. */
  readonly perAddress: number;
  /** From the TCP connection to its CONNECT answered, TLS handshake included; longer is closed. */
  readonly connectTimeoutMs: number;
  /** Where refusals and expiries are logged, once per burst (burst-log.ts). */
  readonly log: Logger;
}

/** The eight 16-bit groups of an IPv6 address in text form (zone removed), or null. */
function ipv6Groups(address: string): string[] | null {
  const bare = address.split('%')[0]!;
  const halves = bare.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  // A trailing dotted IPv4 (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) stands for two groups.
  const last = tail.length > 0 ? tail : head;
  if (last.length > 0 && isIPv4(last[last.length - 1]!)) {
    const octets = last.pop()!.split('.').map(Number);
    last.push(((octets[0]! << 8) | octets[1]!).toString(16), ((octets[2]! << 8) | octets[3]!).toString(16));
  }
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return null;
  return [...head, ...Array<string>(missing).fill('0'), ...tail];
}

/**
 * The source a connection is counted against: an IPv4 address (also when it arrives IPv4-mapped,
 * ::ffff:a.b.c.d, on a dual-stack listener), or the /64 network of an IPv6 address, since one
 * IPv6 host is normally handed a whole /64 and could pick a new address per connection.
 */
export function addressKeyOf(address: string | undefined): string {
  if (!address) return 'unknown';
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  const groups = ipv6Groups(address);
  if (!groups) return address;
  return `${groups
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}

/** Open connections per source address on one listener. */
export class AddressConnectionCounts {
  private readonly open = new Map<string, number>();
  constructor(private readonly limit: number) {}

  /** Counts one more connection from `key`, or says false (and counts nothing) when it already holds the limit. */
  tryOpen(key: string): boolean {
    const count = this.open.get(key) ?? 0;
    if (count >= this.limit) return false;
    this.open.set(key, count + 1);
    return true;
  }

  closed(key: string): void {
    const count = this.open.get(key) ?? 0;
    if (count <= 1) this.open.delete(key);
    else this.open.set(key, count - 1);
  }

  /** Distinct addresses with an open connection (the map never holds a zero). */
  get addresses(): number {
    return this.open.size;
  }
}
