import { KeyedTokenBuckets } from './token-buckets.ts';

interface Held<T> {
  item: T;
  /** Births replaced by a later one while held: never handled. */
  dropped: number;
  readonly timer: NodeJS.Timeout;
}

/**
 * Birth messages of one device (issue 20 §2): two are handled at once (the birth after a CONNECT,
 * and the one a device sends after applying a pushed configuration), then one per `intervalMs`.
 * A birth that comes sooner is held, only the latest one (an earlier held birth is dropped), and
 * released when the device's next turn comes, so the platform ends up knowing the device's last
 * word without handling every one. State: a bucket per device active in the last two intervals
 * and at most one held birth per device.
 */
export class BirthThrottle<T> {
  private readonly buckets: KeyedTokenBuckets;
  private readonly held = new Map<string, Held<T>>();

  constructor(
    intervalMs: number,
    /** Called with a held birth when its turn comes, and how many were dropped meanwhile. */
    private readonly release: (key: string, item: T, dropped: number) => void,
  ) {
    this.buckets = new KeyedTokenBuckets(2, intervalMs);
  }

  /** 'now': handle this birth; 'held': it is kept for later (or replaced by a later one). */
  offer(key: string, item: T): 'now' | 'held' {
    const waiting = this.held.get(key);
    if (waiting) {
      waiting.item = item;
      waiting.dropped += 1;
      return 'held';
    }
    const waitMs = this.buckets.take(key);
    if (waitMs === 0) return 'now';
    this.hold(key, { item, dropped: 0 }, waitMs);
    return 'held';
  }

  /** Births held now (at most one per device). */
  get heldCount(): number {
    return this.held.size;
  }

  /** Drops every held birth. */
  close(): void {
    for (const waiting of this.held.values()) clearTimeout(waiting.timer);
    this.held.clear();
  }

  private hold(key: string, waiting: { item: T; dropped: number }, waitMs: number): void {
    const timer = setTimeout(() => this.due(key), waitMs);
    timer.unref();
    this.held.set(key, { ...waiting, timer });
  }

  private due(key: string): void {
    const waiting = this.held.get(key);
    if (!waiting) return;
    this.held.delete(key);
    const waitMs = this.buckets.take(key);
    if (waitMs > 0)
      this.hold(key, waiting, waitMs); // a timer that fired a little early
    else this.release(key, waiting.item, waiting.dropped);
  }
}
