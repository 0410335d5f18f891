import type { Clock } from '@heliograph/common';
import { TokenBucket } from './token-bucket.js';

export interface KeyedRateLimiterOptions {
  perSecond: number;
  burst: number;
  clock: Clock;
  /** Most keys remembered at once besides held ones; past it the least recently used key is forgotten. */
  maxKeys: number;
}

/**
 * One token bucket per key (a user, an address), shared by everything that names the key, so
 * that a limit follows the user or the address rather than one socket: reconnecting does not
 * refill it. Memory is bounded: a key idle long enough to have refilled is as good as new and is
 * dropped first; at `maxKeys` the least recently used key goes.
 */
export class KeyedRateLimiter {
  readonly #opts: KeyedRateLimiterOptions;
  /** Insertion order is recency order: a key is moved to the end on each use. */
  readonly #buckets = new Map<string, TokenBucket>();
  /** Keys held by long-lived users (`hold`): out of the recency order, never forgotten while held. */
  readonly #held = new Map<string, { bucket: TokenBucket; holders: number }>();
  /** After this long unused a bucket is full again, so forgetting it changes nothing. */
  readonly #refillMs: number;

  constructor(options: KeyedRateLimiterOptions) {
    this.#opts = options;
    this.#refillMs = Math.ceil((options.burst * 1000) / options.perSecond);
  }

  /** Takes one token from `key`'s bucket if it has one. */
  take(key: string): boolean {
    const held = this.#held.get(key);
    return (held ? held.bucket : this.#bucket(key)).take(this.#opts.clock.now());
  }

  /** Returns one token to `key`'s bucket, for a take that turned out not to count. */
  refund(key: string): void {
    (this.#held.get(key)?.bucket ?? this.#buckets.get(key))?.refund();
  }

  /** Milliseconds until `key` has a token again (0 when it has one now). */
  retryAfterMs(key: string): number {
    const bucket = this.#held.get(key)?.bucket ?? this.#buckets.get(key);
    return bucket ? bucket.msUntilNext() : 0;
  }

  /**
   * `key`'s bucket for something that draws from it often and for long, such as a connection
   * (each of its frames): taking from it then costs no lookup. The key is not forgotten while
   * held; once the last holder has released it, it is remembered and forgotten like any other,
   * with its tokens as they were, so that holding it again refills nothing.
   */
  hold(key: string): HeldBucket {
    let held = this.#held.get(key);
    if (!held) {
      const bucket = this.#buckets.get(key) ?? new TokenBucket(this.#opts.perSecond, this.#opts.burst, this.#opts.clock.now());
      this.#buckets.delete(key);
      held = { bucket, holders: 0 };
      this.#held.set(key, held);
    }
    held.holders++;
    const entry = held;
    return new HeldBucket(entry.bucket, () => {
      if (--entry.holders === 0) {
        this.#held.delete(key);
        this.#evict(this.#opts.clock.now());
        this.#buckets.set(key, entry.bucket);
      }
    });
  }

  get size(): number {
    return this.#buckets.size + this.#held.size;
  }

  #bucket(key: string): TokenBucket {
    const now = this.#opts.clock.now();
    let bucket = this.#buckets.get(key);
    if (bucket) {
      this.#buckets.delete(key);
    } else {
      this.#evict(now);
      bucket = new TokenBucket(this.#opts.perSecond, this.#opts.burst, now);
    }
    this.#buckets.set(key, bucket);
    return bucket;
  }

  /** Drops buckets that have refilled, oldest first, and the least recently used one at the cap. */
  #evict(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (this.#buckets.size < this.#opts.maxKeys && now - bucket.lastUsed < this.#refillMs) {
        break;
      }
      this.#buckets.delete(key);
    }
  }
}

/** One holder's handle on a held key's bucket (`KeyedRateLimiter.hold`). */
export class HeldBucket {
  #released = false;

  constructor(
    readonly bucket: TokenBucket,
    private readonly onRelease: () => void,
  ) {}

  /** Takes one token if there is one; `now` from the caller's clock, as for `TokenBucket`. */
  take(now: number): boolean {
    return this.bucket.take(now);
  }

  /** Milliseconds until the bucket has a token again (0 when it has one now). */
  retryAfterMs(): number {
    return this.bucket.msUntilNext();
  }

  /** Lets go of the key. Idempotent. */
  release(): void {
    if (!this.#released) {
      this.#released = true;
      this.onRelease();
    }
  }
}
