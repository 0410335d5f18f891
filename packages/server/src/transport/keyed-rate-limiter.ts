import type { Clock } from '../shared/clock.js';
import { TokenBucket } from './token-bucket.js';

export interface KeyedRateLimiterOptions {
  perSecond: number;
  burst: number;
  clock: Clock;
  /** Most keys remembered at once; past it the least recently used key is forgotten. */
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
  /** After this long unused a bucket is full again, so forgetting it changes nothing. */
  readonly #refillMs: number;

  constructor(options: KeyedRateLimiterOptions) {
    this.#opts = options;
    this.#refillMs = Math.ceil((options.burst * 1000) / options.perSecond);
  }

  /** Takes one token from `key`'s bucket if it has one. */
  take(key: string): boolean {
    return this.#bucket(key).take(this.#opts.clock.now());
  }

  /** Returns one token to `key`'s bucket, for a take that turned out not to count. */
  refund(key: string): void {
    this.#buckets.get(key)?.refund();
  }

  /** Milliseconds until `key` has a token again (0 when it has one now). */
  retryAfterMs(key: string): number {
    const bucket = this.#buckets.get(key);
    return bucket ? bucket.msUntilNext() : 0;
  }

  get size(): number {
    return this.#buckets.size;
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
