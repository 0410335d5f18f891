import type { PsOutbound } from '@heliograph/protocol';
import { AppError } from '../shared/app-error.js';

/** A presence peer on another node: the room it is in and its peer id there. */
export interface PeerAddress {
  room: string;
  peer: string;
}

export interface PeerRouteOptions {
  remoteAddress: string;
  /** Hands one `data` event (already serialised) to the peer at `to`; settles when its node answered. */
  relay: (to: PeerAddress, dataJson: string) => Promise<unknown>;
  /** The presence peer this side's messages come from (it changes, and is briefly none, when a streamer is renamed). */
  from: () => string | undefined;
  /** A message that could not be delivered or kept (too many waiting for an address): counted as unroutable. */
  lost: () => void;
}

/** Messages kept for the next address (sent while held, or refused by the old one): beyond this they are lost. */
const MAX_KEPT = 512;

/**
 * The dialect's connection to a counterpart on another node (a `PsLink`): each message is a `data`
 * relay to the counterpart's presence peer, over the cluster's peer-delivery path (`peer.deliver`,
 * acked once the counterpart's connection has it), so per-pair order is the transport's.
 *
 * A streamer's rename moves both presence peers to a new room: meanwhile the route has no
 * address (`hold`) and keeps what is sent; relays that reached the old address after the
 * counterpart had left it (PEER_NOT_FOUND) are kept too, and `readdress` sends everything kept
 * again, in send order. Nothing is delivered twice: PEER_NOT_FOUND means not delivered.
 */
export class PeerRoute {
  /** Liveness is watched on the node holding the socket. */
  alive = true;
  #closed = false;
  #to: PeerAddress | undefined;
  /** Relays not answered yet. */
  readonly #inFlight = new Set<Promise<unknown>>();
  /** Messages kept for the next address, by their place in the send order. */
  readonly #kept = new Map<number, string>();
  #sent = 0;
  #onClose: (code: number | undefined, reason: string | undefined) => void = () => undefined;

  constructor(
    to: PeerAddress | undefined,
    private readonly opts: PeerRouteOptions,
  ) {
    this.#to = to;
  }

  get remoteAddress(): string {
    return this.opts.remoteAddress;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Where messages go now; undefined while held. */
  get to(): PeerAddress | undefined {
    return this.#to;
  }

  send(message: PsOutbound | Record<string, unknown>): void {
    if (this.#closed) {
      return;
    }
    const place = this.#sent++;
    const payload = JSON.stringify(message);
    // Behind kept messages, or without a presence peer of its own (a streamer between its old room
    // and its new one: this side is moving too), it is kept until the route is readdressed.
    if (this.#to && this.#kept.size === 0 && this.opts.from() !== undefined) {
      this.#relay(this.#to, place, payload);
    } else {
      this.#keep(place, payload);
    }
  }

  /** The counterpart is moving: what is sent is kept until `readdress`. */
  hold(): void {
    this.#to = undefined;
  }

  /**
   * The counterpart's new address: once the relays to the old one are answered, what was kept
   * (refused there, or sent since) goes again, in send order. `before` runs first (the moved side
   * tells the other); when it answers false (a newer move overtook this one), the route stays held.
   */
  async readdress(to: PeerAddress, before: () => boolean = () => true): Promise<void> {
    this.#to = undefined;
    while (this.#inFlight.size > 0) {
      await Promise.allSettled([...this.#inFlight]);
    }
    if (this.#closed || !before()) {
      return;
    }
    this.#to = to;
    const again = [...this.#kept].sort(([a], [b]) => a - b);
    this.#kept.clear();
    for (const [place, payload] of again) {
      this.#relay(to, place, payload);
    }
  }

  /** Called once, on the first `close()` (the dialect ended it here); not on `drop()`. */
  onClose(handler: (code: number | undefined, reason: string | undefined) => void): void {
    this.#onClose = handler;
  }

  close(code?: number, reason?: string): void {
    if (this.#closed) {
      return;
    }
    this.drop();
    this.#onClose(code, reason);
  }

  terminate(): void {
    this.close();
  }

  /** The other side ended it already: closed here without telling it back. */
  drop(): void {
    this.#closed = true;
    this.#kept.clear();
  }

  #keep(place: number, payload: string): void {
    if (this.#kept.size < MAX_KEPT && !this.#closed) {
      this.#kept.set(place, payload);
    } else {
      this.opts.lost();
    }
  }

  #relay(to: PeerAddress, place: number, payload: string): void {
    const from = this.opts.from();
    if (from === undefined) {
      this.opts.lost();
      return;
    }
    const relayed = this.opts.relay(to, `{"from":${JSON.stringify(from)},"payload":${payload}}`).catch((err: unknown) => {
      if (err instanceof AppError && err.code === 'PEER_NOT_FOUND') {
        this.#keep(place, payload);
      } else {
        this.opts.lost();
      }
    });
    this.#inFlight.add(relayed);
    void relayed.finally(() => this.#inFlight.delete(relayed));
  }
}
