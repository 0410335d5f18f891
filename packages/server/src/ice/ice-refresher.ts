import type { Clock, TimerHandle } from '@heliograph/common';
import type { Peer } from '../rooms/room.js';
import type { RoomEvents } from '../rooms/room-events.js';
import type { IceServerIssuer } from './turn-credentials.js';

/** Fresh credentials are sent once this share of their lifetime has passed. */
export const REFRESH_AT = 0.8;

/**
 * Keeps TURN credentials valid on long-lived connections: every peer in a room gets an
 * `ice.servers` event with new credentials before the ones it has expire, until it leaves.
 */
export class IceRefresher {
  readonly #timers = new Map<Peer, TimerHandle>();
  readonly #off: Array<() => void>;
  #closed = false;

  constructor(
    private readonly issuer: IceServerIssuer,
    private readonly clock: Clock,
    events: RoomEvents,
  ) {
    this.#off = [events.on('peer.joined', ({ peer }) => this.#schedule(peer)), events.on('peer.left', ({ peer }) => this.#cancel(peer))];
  }

  /** Peers waiting for a refresh. */
  get size(): number {
    return this.#timers.size;
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#off.forEach((off) => off());
    for (const timer of this.#timers.values()) {
      this.clock.clearTimeout(timer);
    }
    this.#timers.clear();
  }

  #schedule(peer: Peer): void {
    if (this.#closed || !this.issuer.expiring) {
      return;
    }
    const timer = this.clock.setTimeout(() => this.#refresh(peer), Math.floor(this.issuer.ttlMs * REFRESH_AT));
    this.#timers.set(peer, timer);
  }

  #refresh(peer: Peer): void {
    this.#timers.delete(peer);
    const { iceServers, expiresAt } = this.issuer.issue(peer.userId);
    if (peer.sink.sendEvent('ice.servers', JSON.stringify({ iceServers, expiresAt })) === 'ok') {
      this.#schedule(peer);
    }
  }

  #cancel(peer: Peer): void {
    this.clock.clearTimeout(this.#timers.get(peer));
    this.#timers.delete(peer);
  }
}
