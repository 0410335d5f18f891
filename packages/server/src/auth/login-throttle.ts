import { AppError } from '../shared/app-error.js';
import type { Clock } from '../shared/clock.js';

export interface LoginThrottleOptions {
  clock: Clock;
  maxFailuresPerUser: number;
  maxFailuresPerAddress: number;
  windowMs: number;
  /** Most usernames (and, separately, addresses) tracked at once; the oldest are dropped beyond. */
  maxEntries?: number;
}

interface Counter {
  failures: number;
  /** When this window ends and the counter is forgotten. */
  resetAt: number;
}

/**
 * Failure counters in fixed windows that start at the first failure. Every window has the same
 * length, so Map insertion order is also expiry order: pruning stops at the first live entry.
 */
class FailureCounters {
  readonly #counters = new Map<string, Counter>();

  constructor(
    readonly max: number,
    readonly windowMs: number,
    readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.#counters.size;
  }

  /** Milliseconds until `key` may try again, or 0 when it may now. */
  blockedFor(key: string, now: number): number {
    const counter = this.#live(key, now);
    return counter && counter.failures >= this.max ? counter.resetAt - now : 0;
  }

  add(key: string, now: number): void {
    const counter = this.#live(key, now);
    if (counter) {
      counter.failures++;
      return;
    }
    this.prune(now);
    if (this.#counters.size >= this.maxEntries) {
      // Still full of live windows: drop the oldest, which would expire first anyway.
      const oldest = this.#counters.keys().next().value;
      if (oldest !== undefined) {
        this.#counters.delete(oldest);
      }
    }
    this.#counters.set(key, { failures: 1, resetAt: now + this.windowMs });
  }

  /** Takes back one failure (an attempt counted up front that turned out to succeed). */
  forgive(key: string, now: number): void {
    const counter = this.#live(key, now);
    if (counter && --counter.failures <= 0) {
      this.#counters.delete(key);
    }
  }

  clear(key: string): void {
    this.#counters.delete(key);
  }

  prune(now: number): void {
    for (const [key, counter] of this.#counters) {
      if (counter.resetAt > now) {
        return;
      }
      this.#counters.delete(key);
    }
  }

  #live(key: string, now: number): Counter | undefined {
    const counter = this.#counters.get(key);
    if (counter && counter.resetAt <= now) {
      this.#counters.delete(key);
      return undefined;
    }
    return counter;
  }
}

/**
 * Limits password guessing: failed logins are counted per username and per client address, and
 * once either reaches its maximum within the window, `check` refuses with RATE_LIMITED until the
 * window ends. Memory is bounded by `maxEntries` per map.
 *
 * The per-user limit lets anyone lock a user out of password login for one window; that is the
 * usual price of stopping distributed guessing against one account.
 */
export class LoginThrottle {
  readonly #clock: Clock;
  readonly #users: FailureCounters;
  readonly #addresses: FailureCounters;

  constructor(options: LoginThrottleOptions) {
    const maxEntries = options.maxEntries ?? 100_000;
    this.#clock = options.clock;
    this.#users = new FailureCounters(options.maxFailuresPerUser, options.windowMs, maxEntries);
    this.#addresses = new FailureCounters(options.maxFailuresPerAddress, options.windowMs, maxEntries);
  }

  /** Throws AppError RATE_LIMITED (with `retryAfterMs`) when the user or the address is over its limit. */
  check(username: string, address: string): void {
    const now = this.#clock.now();
    this.#users.prune(now);
    this.#addresses.prune(now);
    const wait = Math.max(this.#users.blockedFor(username, now), this.#addresses.blockedFor(address, now));
    if (wait > 0) {
      throw new AppError('RATE_LIMITED', 'too many failed logins; try again later', { retryAfterMs: wait });
    }
  }

  /** Records a failed login. */
  fail(username: string, address: string): void {
    const now = this.#clock.now();
    this.#users.add(username, now);
    this.#addresses.add(address, now);
  }

  /**
   * Records a successful login: the user's counter is cleared. With `address`, one failure is
   * also taken back from the address, for callers that record each attempt as a failure up front.
   */
  succeed(username: string, address?: string): void {
    this.#users.clear(username);
    if (address !== undefined) {
      this.#addresses.forgive(address, this.#clock.now());
    }
  }

  /** How many usernames and addresses are tracked (for tests and metrics). */
  get size(): { users: number; addresses: number } {
    return { users: this.#users.size, addresses: this.#addresses.size };
  }
}
