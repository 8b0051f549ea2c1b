/**
 * Counts failed CONNECTs to the provision broker three ways, each counter a leaky bucket that
 * loses one failure every `windowMs / limit`:
 * - per (clientId, source address) pair: at `failureLimit` the pair is locked out. An attacker
 *   elsewhere who knows a clientId locks out only itself, never the real device;
 * - per source address, whatever the clientIds (a scanner): locked out at `addressFailureLimit`;
 * - per clientId, across addresses: never locks anything out, it only holds each refusal back
 *   `baseDelayMs` × its count (at most 5 s), which keeps a distributed guess slow.
 * A lock-out keeps its bucket full: once it ends, only the failures leaked meanwhile may be
 * retried before the next one, so in the long run a pair or address gets one guess per leak step.
 * In memory, per broker process: several broker processes count separately, a restart forgets.
 */
export interface BruteForceGuardOptions {
  /** Failures of one clientId from one source address that lock that pair out (PROVISIO_AUTH_FAILURE_LIMIT). */
  readonly failureLimit: number;
  /** Failures from one source address that lock the address out (PROVISIO_AUTH_ADDRESS_FAILURE_LIMIT); absent: 10 × failureLimit. */
  readonly addressFailureLimit: number;
  readonly lockoutMs: number;
  /** A refusal is held back this × the clientId's failures, at most 5 s. */
  readonly baseDelayMs: number;
  /** A counter with limit L loses one failure every windowMs / L (the clientId's uses failureLimit). Default 15 min. */
  readonly windowMs?: number;
  readonly now?: () => number;
}

/** Who a CONNECT came from: the clientId it claimed and its source address. */
export interface ConnectSource {
  readonly clientId: string;
  readonly address: string;
}

export type LockKind = 'pair' | 'address';

export interface FailureOutcome {
  /** How long to hold the refusal back. */
  readonly delayMs: number;
  /** The lock-outs this failure started. */
  readonly lockedOut: readonly LockKind[];
}

const maxDelayMs = 5_000;
const pruneAbove = 10_000;

interface Bucket {
  failures: number;
  /** When the last whole failure leaked out (or the first one came in). */
  leakedAt: number;
  lockedUntil: number;
}

/** One kind of counter: a map of leaky buckets with one limit. */
class LeakyCounters {
  private readonly buckets = new Map<string, Bucket>();
  private readonly leakMs: number;
  /** Prune when the map passes this; then set to twice what survived, so pruning stays amortised O(1). */
  private pruneAbove = pruneAbove;

  constructor(
    private readonly limit: number,
    windowMs: number,
    /** null: this counter never locks out. */
    private readonly lockoutMs: number | null,
    /** The count never goes above this (a full bucket), so that it drains in bounded time. */
    private readonly ceiling: number = limit,
  ) {
    this.leakMs = windowMs / limit;
  }

  lockedUntil(key: string, now: number): number {
    const bucket = this.buckets.get(key);
    return bucket && bucket.lockedUntil > now ? bucket.lockedUntil : 0;
  }

  /** Adds a failure; returns the count after it and whether it started a lock-out. */
  add(key: string, now: number): { failures: number; lockedOut: boolean } {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { failures: 0, leakedAt: now, lockedUntil: 0 };
      this.buckets.set(key, bucket);
    }
    this.leak(bucket, now);
    if (bucket.failures === 0) bucket.leakedAt = now;
    bucket.failures = Math.min(bucket.failures + 1, this.ceiling);
    const lockedOut = this.lockoutMs !== null && bucket.failures >= this.limit && bucket.lockedUntil <= now;
    if (lockedOut) bucket.lockedUntil = now + this.lockoutMs!;
    if (this.buckets.size > this.pruneAbove) this.prune(now);
    return { failures: bucket.failures, lockedOut };
  }

  clear(key: string): void {
    this.buckets.delete(key);
  }

  get size(): number {
    return this.buckets.size;
  }

  private leak(bucket: Bucket, now: number): void {
    const leaked = Math.floor((now - bucket.leakedAt) / this.leakMs);
    if (leaked <= 0) return;
    bucket.failures = Math.max(0, bucket.failures - leaked);
    bucket.leakedAt += leaked * this.leakMs;
  }

  /** Forgets buckets that have leaked empty and lock nothing. */
  private prune(now: number): void {
    for (const [key, bucket] of this.buckets) {
      this.leak(bucket, now);
      if (bucket.failures === 0 && bucket.lockedUntil <= now) this.buckets.delete(key);
    }
    this.pruneAbove = Math.max(pruneAbove, this.buckets.size * 2);
  }
}

const pairKey = (source: ConnectSource): string => JSON.stringify([source.clientId, source.address]);

export class BruteForceGuard {
  private readonly now: () => number;
  private readonly pairs: LeakyCounters;
  private readonly addresses: LeakyCounters;
  private readonly clientIds: LeakyCounters;
  private readonly baseDelayMs: number;

  constructor(options: BruteForceGuardOptions) {
    this.now = options.now ?? Date.now;
    const windowMs = options.windowMs ?? 15 * 60_000;
    this.pairs = new LeakyCounters(options.failureLimit, windowMs, options.lockoutMs);
    this.addresses = new LeakyCounters(options.addressFailureLimit, windowMs, options.lockoutMs);
    // Counted up to where the delay stops growing.
    const delayCeiling = Math.max(options.failureLimit, Math.ceil(maxDelayMs / Math.max(options.baseDelayMs, 1)));
    this.clientIds = new LeakyCounters(options.failureLimit, windowMs, null, delayCeiling);
    this.baseDelayMs = options.baseDelayMs;
  }

  /** Buckets held, all kinds together: the memory the guard uses. */
  get size(): number {
    return this.pairs.size + this.addresses.size + this.clientIds.size;
  }

  /** Seconds left of a lock-out of the pair or of the address, or 0. */
  lockedForSeconds(source: ConnectSource): number {
    const now = this.now();
    const until = Math.max(this.pairs.lockedUntil(pairKey(source), now), this.addresses.lockedUntil(source.address, now));
    return until === 0 ? 0 : Math.ceil((until - now) / 1000);
  }

  /** Counts a refused CONNECT on the pair, the address and the clientId. */
  recordFailure(source: ConnectSource): FailureOutcome {
    const now = this.now();
    const lockedOut: LockKind[] = [];
    if (this.pairs.add(pairKey(source), now).lockedOut) lockedOut.push('pair');
    if (this.addresses.add(source.address, now).lockedOut) lockedOut.push('address');
    const { failures } = this.clientIds.add(source.clientId, now);
    return { delayMs: Math.min(this.baseDelayMs * failures, maxDelayMs), lockedOut };
  }

  /**
   * The device proved its password: forget the pair's count and the clientId's delay count. Not the
   * address's: one good device behind a NAT must not unlock a scanner beside it.
   */
  recordSuccess(source: ConnectSource): void {
    this.pairs.clear(pairKey(source));
    this.clientIds.clear(source.clientId);
  }
}
