import type { PsOutbound } from '@heliograph/protocol';
import { AppError } from '../shared/app-error.js';
import type { PsLink } from './endpoints.js';

/** A presence peer on another node: the room it is in and its peer id there. */
export interface PeerAddress {
  room: string;
  peer: string;
}

/** Hands one `data` event (already serialised) to the peer at `to`; settles when its node answered. */
export type DataRelay = (to: PeerAddress, dataJson: string) => Promise<unknown>;

export interface PeerRouteOptions {
  remoteAddress: string;
  relay: DataRelay;
  /** The presence peer this side's messages come from (it changes, and is briefly none, when a streamer is renamed). */
  from: () => string | undefined;
  /** A message that could not be kept (too many waiting for an address): counted as unroutable. */
  lost: () => void;
}

/** Messages kept while the route has no address, and relays kept for a resend: beyond this they are lost. */
const MAX_KEPT = 512;

/**
 * The dialect's connection to a counterpart on another node (`PsLink`): each message is a `data`
 * relay to the counterpart's presence peer, over the cluster's peer-delivery path (`peer.deliver`,
 * acked once the counterpart's connection has it), so per-pair order is the transport's.
 *
 * A streamer's rename moves both presence peers to a new room: meanwhile the route has no
 * address (`hold`) and keeps what is sent; relays that reached the old address after the
 * counterpart had left it (PEER_NOT_FOUND) are kept too, and `readdress` sends them again, in
 * their order, before the kept ones. Nothing is delivered twice: PEER_NOT_FOUND means not delivered.
 */
export class PeerRoute implements PsLink {
  /** Liveness is watched on the node holding the socket. */
  alive = true;
  #closed = false;
  #to: PeerAddress | undefined;
  readonly #waiting: string[] = [];
  /** Relays not answered yet, with their place in the send order. */
  readonly #inFlight = new Set<Promise<unknown>>();
  /** Relays the old address refused, by their place in the send order. */
  readonly #refused = new Map<number, string>();
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
    const payload = JSON.stringify(message);
    // Without a presence peer of its own (a streamer between its old room and its new one), this
    // side is moving too: what it sends is kept until the route is readdressed.
    if (this.#to && this.#waiting.length === 0 && this.opts.from() !== undefined) {
      this.#relay(this.#to, payload);
    } else if (this.#waiting.length < MAX_KEPT) {
      this.#waiting.push(payload);
    } else {
      this.opts.lost();
    }
  }

  /** The counterpart is moving: what is sent is kept until `readdress`. */
  hold(): void {
    this.#to = undefined;
  }

  /**
   * The counterpart's new address: once the relays to the old one are answered, those it refused
   * go again, then the kept messages. `before` runs first (the moved side tells the other); when
   * it answers false (a newer move overtook this one), the route stays held.
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
    const again = [...this.#refused.entries()].sort(([a], [b]) => a - b).map(([, payload]) => payload);
    this.#refused.clear();
    for (const payload of [...again, ...this.#waiting.splice(0)]) {
      this.#relay(to, payload);
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
    this.#waiting.length = 0;
    this.#refused.clear();
  }

  #relay(to: PeerAddress, payload: string): void {
    const from = this.opts.from();
    if (from === undefined) {
      this.opts.lost();
      return;
    }
    const place = this.#sent++;
    const relayed = this.opts.relay(to, `{"from":${JSON.stringify(from)},"payload":${payload}}`).catch((err: unknown) => {
      if (err instanceof AppError && err.code === 'PEER_NOT_FOUND' && !this.#closed && this.#refused.size < MAX_KEPT) {
        this.#refused.set(place, payload);
      } else {
        this.opts.lost();
      }
    });
    this.#inFlight.add(relayed);
    void relayed.finally(() => this.#inFlight.delete(relayed));
  }
}
