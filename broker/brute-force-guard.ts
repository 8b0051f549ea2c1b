/**
 * Counts failed CONNECTs per clientId and per source address. Each failure slows the next
 * refusal down a little more; at `failureLimit` the key is locked out for `lockoutMs`.
 * In memory, per broker process: a lock-out is a speed bump for one attacker, not shared state.
 */
export interface BruteForceGuardOptions {
  readonly failureLimit: number;
  /** Keys starting with 'address:' get this limit (default 10 × failureLimit: many devices may share a NAT). */
  readonly addressFailureLimit?: number;
  readonly lockoutMs: number;
  readonly baseDelayMs: number;
  /** Forget a key this long after its last failure. */
  readonly windowMs?: number;
  readonly now?: () => number;
}

interface FailureRecord {
  failures: number;
  lastFailureAt: number;
  lockedUntil: number;
}

export class BruteForceGuard {
  private readonly records = new Map<string, FailureRecord>();
  private readonly now: () => number;
  private readonly windowMs: number;

  constructor(private readonly options: BruteForceGuardOptions) {
    this.now = options.now ?? Date.now;
    this.windowMs = options.windowMs ?? Math.max(options.lockoutMs, 15 * 60_000);
  }

  /** Seconds left of a lock-out on any of the keys, or 0. */
  lockedForSeconds(keys: readonly string[]): number {
    const now = this.now();
    let until = 0;
    for (const key of keys) {
      const record = this.records.get(key);
      if (record && record.lockedUntil > now) until = Math.max(until, record.lockedUntil);
    }
    return until === 0 ? 0 : Math.ceil((until - now) / 1000);
  }

  /** Records a failure on every key; returns how long to hold the refusal back. */
  recordFailure(keys: readonly string[]): { delayMs: number; lockedOut: boolean } {
    const now = this.now();
    let worst = 0;
    let lockedOut = false;
    for (const key of keys) {
      let record = this.records.get(key);
      if (!record || now - record.lastFailureAt > this.windowMs) {
        record = { failures: 0, lastFailureAt: now, lockedUntil: 0 };
        this.records.set(key, record);
      }
      record.failures += 1;
      record.lastFailureAt = now;
      if (record.failures >= this.limitFor(key)) {
        record.lockedUntil = now + this.options.lockoutMs;
        record.failures = 0;
        lockedOut = true;
      }
      worst = Math.max(worst, record.failures);
    }
    this.prune(now);
    return { delayMs: Math.min(this.options.baseDelayMs * worst, 5_000), lockedOut };
  }

  /** A success clears the clientId's count (not the address's: one good device must not unlock a scanner). */
  recordSuccess(key: string): void {
    const record = this.records.get(key);
    if (record && record.lockedUntil <= this.now()) this.records.delete(key);
  }

  private limitFor(key: string): number {
    return key.startsWith('address:') ? (this.options.addressFailureLimit ?? this.options.failureLimit * 10) : this.options.failureLimit;
  }

  private prune(now: number): void {
    if (this.records.size < 10_000) return;
    for (const [key, record] of this.records) {
      if (record.lockedUntil <= now && now - record.lastFailureAt > this.windowMs) this.records.delete(key);
    }
  }
}
