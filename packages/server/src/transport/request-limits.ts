import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { ClientAddress } from '../http/client-address.js';
import type { Clock } from '../shared/clock.js';
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
  readonly #clientAddress: ClientAddress;
  /** Each upgrading socket's client address, until its connection opens (weak: nothing to clean). */
  readonly #upgrades = new WeakMap<object, string>();

  constructor(settings: SharedRateSettings, clock: Clock, clientAddress: ClientAddress) {
    this.#users = keyedLimiter(userRate(settings), clock);
    this.#addresses = keyedLimiter(addressRate(settings), clock);
    this.#clientAddress = clientAddress;
  }

  /** Notes the client's address of an upgrade, before the gateway takes it. */
  noteUpgrade(req: IncomingMessage): void {
    this.#upgrades.set(req.socket, this.#clientAddress(req));
  }

  /** The shared quota of a connection of `userId` opened on `ws`. */
  forConnection(ws: WebSocket, userId: string): RequestQuota {
    const address = this.#upgrades.get(socketOf(ws));
    // Always noted by the upgrade listener (test/rate-limits.test.ts fails if `socketOf` ever stops finding it).
    return new RequestQuota(this.#users.hold(userId), address === undefined ? undefined : this.#addresses.hold(address));
  }
}

/**
 * The TCP (or TLS) socket under a server-side `ws` socket: `ws` keeps it in `_socket`, the same
 * object as the upgrade request's `req.socket`. The gateway hands connections only the `ws`, not
 * the request; this is how the address noted at the upgrade is found again.
 */
function socketOf(ws: WebSocket): object {
  return (ws as unknown as { _socket: object })._socket;
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
