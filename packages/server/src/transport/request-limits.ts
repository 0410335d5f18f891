import type { IncomingMessage } from 'node:http';
import type { Clock } from '@heliograph/common';
import type { ClientAddress } from '../http/client-address.js';
import { KeyedRateLimiter, type HeldBucket } from './keyed-rate-limiter.js';

export interface Rate {
  perSecond: number;
  burst: number;
}

/**
 * Keys one limiter remembers besides those of open connections (which are held, never dropped).
 * A key is only dropped early past this many (least recently used first); idle keys go by
 * themselves once refilled (a few seconds). About 150 bytes a key.
 */
const MAX_KEYS = 100_000;

export function keyedLimiter(rate: Rate, clock: Clock): KeyedRateLimiter {
  return new KeyedRateLimiter({ perSecond: rate.perSecond, burst: rate.burst, clock, maxKeys: MAX_KEYS });
}

/**
 * What one connection draws from besides its own bucket: its user's and its address's buckets,
 * shared with every other connection of that user (address) on this node. They are held for the
 * connection's life, so a frame costs no lookup and builds no strings; `release()` on close.
 */
export class RequestQuota {
  #refused: HeldBucket | undefined;

  constructor(
    private readonly user: HeldBucket | undefined,
    private readonly address: HeldBucket | undefined,
  ) {}

  /**
   * Takes a token from the user's bucket, then the address's. Narrowest first: a user refused its
   * own rate takes nothing from its address, so it cannot spend the budget of others behind it.
   */
  take(now: number): boolean {
    const { user, address } = this;
    if (user && !user.take(now)) {
      this.#refused = user;
      return false;
    }
    if (address && !address.take(now)) {
      this.#refused = address;
      return false;
    }
    return true;
  }

  /** Milliseconds until the bucket that refused the last `take()` has a token. */
  retryAfterMs(): number {
    return this.#refused?.retryAfterMs() ?? 0;
  }

  /** Lets go of the buckets; they live on in their limiters. Idempotent. */
  release(): void {
    this.user?.release();
    this.address?.release();
  }
}

/** The settings of the shared rates, with the same names in `limits` and `pixelStreaming`. */
export interface SharedRateSettings {
  userMessagesPerSecond: number;
  userMessageBurst: number;
  addressMessagesPerSecond: number;
  addressMessageBurst: number;
}

function userRate(settings: SharedRateSettings): Rate {
  return { perSecond: settings.userMessagesPerSecond, burst: settings.userMessageBurst };
}

function addressRate(settings: SharedRateSettings): Rate {
  return { perSecond: settings.addressMessagesPerSecond, burst: settings.addressMessageBurst };
}

/**
 * The native protocol's request rates per user and per client address, one instance per node
 * (the composition root's), so that reconnecting refills nothing. In a cluster each node counts
 * for itself.
 */
export class RequestLimits {
  readonly #users: KeyedRateLimiter;
  readonly #addresses: KeyedRateLimiter;

  constructor(settings: SharedRateSettings, clock: Clock) {
    this.#users = keyedLimiter(userRate(settings), clock);
    this.#addresses = keyedLimiter(addressRate(settings), clock);
  }

  /** The shared quota of a connection of `userId` from client `address` (admission's ticket says which). */
  forConnection(userId: string, address: string): RequestQuota {
    return new RequestQuota(this.#users.hold(userId), this.#addresses.hold(address));
  }
}

/**
 * The Pixel Streaming dialect's message rates, one instance per node. Players: per identity (when
 * `auth.players` gives them one) and per address. Streamers and SFUs: per address only, counted
 * apart from players, because a fleet often shares one credential (the shared streamer token by
 * design), so a per-credential budget would throttle the fleet as one.
 */
export class PsRequestLimits {
  readonly #users: KeyedRateLimiter;
  readonly #playerAddresses: KeyedRateLimiter;
  readonly #streamerAddresses: KeyedRateLimiter;
  readonly #clientAddress: ClientAddress;

  constructor(settings: SharedRateSettings, clock: Clock, clientAddress: ClientAddress) {
    this.#users = keyedLimiter(userRate(settings), clock);
    this.#playerAddresses = keyedLimiter(addressRate(settings), clock);
    this.#streamerAddresses = keyedLimiter(addressRate(settings), clock);
    this.#clientAddress = clientAddress;
  }

  /** The shared quota of a dialect socket; `userId` is a player's identity, if it has one. */
  forSocket(player: boolean, req: IncomingMessage, userId: string | undefined): RequestQuota {
    const address = this.#clientAddress(req);
    if (!player) {
      return new RequestQuota(undefined, this.#streamerAddresses.hold(address));
    }
    return new RequestQuota(userId === undefined ? undefined : this.#users.hold(userId), this.#playerAddresses.hold(address));
  }
}
