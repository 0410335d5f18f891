import type { Clock } from '@heliograph/common';
import { KeyedRateLimiter } from '../transport/keyed-rate-limiter.js';
import { AppError } from '../shared/app-error.js';

export interface LoginThrottleOptions {
  clock: Clock;
  /** Failed logins for one username from one address before that pair is backed off. */
  maxFailuresPerUserAndAddress: number;
  /** The first backoff of a pair; it doubles with each further failure, up to `backoffMaxMs`. */
  backoffMs: number;
  backoffMaxMs: number;
  /** Failed logins from one address, across usernames, per window. */
  maxFailuresPerAddress: number;
  /**
   * Failed logins for one username, from every address, per window, past which any address that
   * fails for it is backed off from its first failure. Never refuses an address that has not failed.
   */
  slowdownFailuresPerUser: number;
  /** Sign-ups from one address per window. */
  maxSignupsPerAddress: number;
  /** The per-address and per-username budgets refill over this time; an idle pair is forgotten after it. */
  windowMs: number;
  /** Most keys tracked at once by each map (pairs, addresses, usernames, sign-ups); the oldest go first. */
  maxKeys?: number;
}

/** A login attempt let through: counted as a failure until `succeed()` says otherwise. */
export interface LoginAttempt {
  succeed(): void;
}

interface Pair {
  failures: number;
  /** Failures past the free allowance: the backoff is `backoffMs * 2^(strikes - 1)`. */
  strikes: number;
  blockedUntil: number;
  /** When this pair is forgotten: a window after its last failure or the end of its backoff. */
  expiresAt: number;
}

const DEFAULT_MAX_KEYS = 100_000;

/**
 * Limits password guessing without handing attackers a way to lock users out:
 *
 * - per (username, address) pair: a few free failures, then exponential backoff (doubling,
 *   capped); a success resets the pair. This is the only limit tied to a username that refuses.
 * - per address, across usernames: a token bucket of failures, so one address cannot spray.
 * - per username, across addresses: past a budget of failures, each address that fails for the
 *   user gets backoff from its first failure instead of after the free allowance. An address that
 *   has not failed for the user is never refused on the user's account, so the user, from her own
 *   address and with the right password, always gets in.
 *
 * Every attempt is counted as a failure before the (slow) password check, so parallel guesses
 * cannot outrun the limits; `LoginAttempt.succeed()` takes it back. Memory is bounded by `maxKeys`
 * per map. State is per node.
 */
export class LoginThrottle {
  readonly #opts: LoginThrottleOptions;
  readonly #maxKeys: number;
  /** (address, username) → pair; Map order is recency order (moved to the end on each failure). */
  readonly #pairs = new Map<string, Pair>();
  readonly #addresses: KeyedRateLimiter;
  readonly #users: KeyedRateLimiter;
  readonly #signups: KeyedRateLimiter;

  constructor(options: LoginThrottleOptions) {
    this.#opts = options;
    this.#maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    const bucket = (burst: number) =>
      new KeyedRateLimiter({ burst, perSecond: (burst * 1000) / options.windowMs, clock: options.clock, maxKeys: this.#maxKeys });
    this.#addresses = bucket(options.maxFailuresPerAddress);
    this.#users = bucket(options.slowdownFailuresPerUser);
    this.#signups = bucket(options.maxSignupsPerAddress);
  }

  /**
   * Lets a login attempt through, counted as a failure, or throws AppError RATE_LIMITED (with
   * `retryAfterMs`) when the pair is backing off or the address is over its limit.
   */
  begin(username: string, address: string): LoginAttempt {
    const now = this.#opts.clock.now();
    // Length-prefixed, so that no username or address can make two pairs share a key.
    const key = `${address.length}:${address}:${username}`;
    const pair = this.#live(key, now);
    if (pair && pair.blockedUntil > now) {
      throw rateLimited('too many failed logins; try again later', pair.blockedUntil - now);
    }
    if (!this.#addresses.take(address)) {
      throw rateLimited('too many failed logins; try again later', this.#addresses.retryAfterMs(address));
    }
    const userTaken = this.#users.take(username);
    this.#fail(key, pair, now, !userTaken);
    let done = false;
    return {
      succeed: () => {
        if (done) {
          return;
        }
        done = true;
        this.#pairs.delete(key);
        this.#addresses.refund(address);
        if (userTaken) {
          this.#users.refund(username);
        }
      },
    };
  }

  /** Counts a sign-up from `address`, or throws AppError RATE_LIMITED when it has had its share. */
  signup(address: string): void {
    if (!this.#signups.take(address)) {
      throw rateLimited('too many sign-ups; try again later', this.#signups.retryAfterMs(address));
    }
  }

  /** How many (username, address) pairs are tracked (for tests and metrics). */
  get pairs(): number {
    return this.#pairs.size;
  }

  #fail(key: string, existing: Pair | undefined, now: number, userUnderAttack: boolean): void {
    const pair = existing ?? { failures: 0, strikes: 0, blockedUntil: 0, expiresAt: 0 };
    pair.failures++;
    if (pair.failures >= this.#opts.maxFailuresPerUserAndAddress || userUnderAttack) {
      pair.strikes++;
      pair.blockedUntil = now + this.#backoff(pair.strikes);
    }
    pair.expiresAt = Math.max(now, pair.blockedUntil) + this.#opts.windowMs;
    this.#pairs.delete(key);
    this.#evict(now);
    this.#pairs.set(key, pair);
  }

  #backoff(strikes: number): number {
    // The exponent is bounded so that the doubling cannot overflow to Infinity.
    return Math.min(this.#opts.backoffMaxMs, this.#opts.backoffMs * 2 ** Math.min(strikes - 1, 40));
  }

  #live(key: string, now: number): Pair | undefined {
    const pair = this.#pairs.get(key);
    if (pair && pair.expiresAt <= now) {
      this.#pairs.delete(key);
      return undefined;
    }
    return pair;
  }

  /** Drops expired pairs from the oldest end, and the least recently failed one at the cap. */
  #evict(now: number): void {
    for (const [key, pair] of this.#pairs) {
      if (this.#pairs.size < this.#maxKeys && pair.expiresAt > now) {
        break;
      }
      this.#pairs.delete(key);
    }
  }
}

function rateLimited(message: string, retryAfterMs: number): AppError {
  return new AppError('RATE_LIMITED', message, { retryAfterMs: Math.max(1, Math.ceil(retryAfterMs)) });
}
