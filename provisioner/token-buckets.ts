interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets, one per key: `capacity` tokens, one more every `refillMs`. A bucket that has
 * filled up again is the same as no bucket and is forgotten, so the map holds only the keys
 * active in the last capacity × refillMs (swept whenever it has doubled since the last sweep).
 */
export class KeyedTokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private sweepAbove = 1024;

  constructor(
    private readonly capacity: number,
    private readonly refillMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes a token for `key`: 0 when one was there, otherwise how many ms until one will be (nothing taken). */
  take(key: string): number {
    const now = this.now();
    const tokens = this.tokensOf(this.buckets.get(key), now);
    if (tokens >= 1) {
      this.buckets.set(key, { tokens: tokens - 1, at: now });
      if (this.buckets.size > this.sweepAbove) this.sweep(now);
      return 0;
    }
    this.buckets.set(key, { tokens, at: now });
    return Math.max(1, Math.ceil((1 - tokens) * this.refillMs));
  }

  /** Keys whose bucket is not full. */
  get size(): number {
    return this.buckets.size;
  }

  private tokensOf(bucket: Bucket | undefined, now: number): number {
    if (!bucket) return this.capacity;
    return Math.min(this.capacity, bucket.tokens + (now - bucket.at) / this.refillMs);
  }

  private sweep(now: number): void {
    for (const [key, bucket] of this.buckets) if (this.tokensOf(bucket, now) >= this.capacity) this.buckets.delete(key);
    this.sweepAbove = Math.max(1024, this.buckets.size * 2);
  }
}
