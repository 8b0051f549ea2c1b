import { KeyedTokenBuckets } from './token-buckets.ts';

/** handle: go on; refuse: answer 429 with retry.after.seconds; ignore: no reply at all. */
export type RateVerdict = { readonly kind: 'handle' } | { readonly kind: 'refuse'; readonly retryAfterSeconds: number } | { readonly kind: 'ignore' };

const handle: RateVerdict = Object.freeze({ kind: 'handle' });
const ignore: RateVerdict = Object.freeze({ kind: 'ignore' });

/**
 * Provisioning messages per clientId (issue 20 §2): a token bucket of `burst` messages, refilled
 * at `perMinute`. The first message beyond it is answered 429 with the seconds until a token is
 * there again; the device's further messages before that time get no reply (it was told when to
 * come back), so a flood costs one signed reply per delay, not one per message.
 */
export class ProvisionRateLimit {
  private readonly buckets: KeyedTokenBuckets;
  /** clientId → until when its excess messages get no reply. */
  private readonly quietUntil = new Map<string, number>();
  private sweepAbove = 1024;

  constructor(
    burst: number,
    perMinute: number,
    private readonly now: () => number = Date.now,
  ) {
    this.buckets = new KeyedTokenBuckets(burst, 60_000 / perMinute, now);
  }

  check(clientId: string): RateVerdict {
    const waitMs = this.buckets.take(clientId);
    if (waitMs === 0) {
      this.quietUntil.delete(clientId);
      return handle;
    }
    const now = this.now();
    const quiet = this.quietUntil.get(clientId);
    if (quiet !== undefined && now < quiet) return ignore;
    const retryAfterSeconds = Math.ceil(waitMs / 1000);
    this.quietUntil.set(clientId, now + retryAfterSeconds * 1000);
    if (this.quietUntil.size > this.sweepAbove) this.sweep(now);
    return { kind: 'refuse', retryAfterSeconds };
  }

  private sweep(now: number): void {
    for (const [clientId, until] of this.quietUntil) if (until <= now) this.quietUntil.delete(clientId);
    this.sweepAbove = Math.max(1024, this.quietUntil.size * 2);
  }
}
