/**
 * The provision broker's budget of wrong provisioning codes (docs/PROTOCOL.md §18, docs/SECURITY.md
 * "Provisioning codes"): a token bucket per broker process, holding `perMinute` failures and
 * refilled at `perMinute` a minute, shared by every address and clientId.
 *
 * The brute-force guard (brute-force-guard.ts) bounds guessing per address; an attacker with many
 * addresses is bounded by this instead: while the bucket is empty, every code CONNECT is refused,
 * a right code too, or the budget would not bound the number of guesses that can succeed. The
 * worst case is then `perMinute` guesses a minute per broker process against 10^12 codes.
 * In memory: a restart refills it, several broker processes have one each.
 */
export class CodeFailureBudget {
  private tokens: number;
  private refilledAt: number;
  private readonly refillMs: number;

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = perMinute;
    this.refilledAt = now();
    this.refillMs = 60_000 / perMinute;
  }

  /** Seconds until the next failure is taken again, or 0 while it is not spent. */
  spentForSeconds(): number {
    this.refill();
    if (this.tokens >= 1) return 0;
    return Math.max(1, Math.ceil(((1 - this.tokens) * this.refillMs) / 1000));
  }

  /** Takes one failure out of the budget (never below empty). */
  recordFailure(): void {
    this.refill();
    this.tokens = Math.max(0, this.tokens - 1);
  }

  private refill(): void {
    const now = this.now();
    const elapsed = now - this.refilledAt;
    if (elapsed <= 0) return;
    this.tokens = Math.min(this.perMinute, this.tokens + elapsed / this.refillMs);
    this.refilledAt = now;
  }
}
