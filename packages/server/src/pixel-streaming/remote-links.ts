import type { PsOutbound } from '@heliograph/protocol';
import type { PsLink } from './endpoints.js';

/** Where a forwarding link sends what the dialect does to it. */
export interface ForwardingHooks {
  forward(message: Record<string, unknown>): void;
  /** Called once, on the first `close()`; not on `drop()`. */
  closed(code: number | undefined, reason: string | undefined): void;
}

/**
 * A connection held by another node, seen from this one: what the dialect sends goes to that
 * node as a bus request (`cluster-link.ts`), and closing it tells that node. Used on a streamer's
 * node for players of other nodes, and on a player's node for its remote streamer.
 */
export class ForwardingLink implements PsLink {
  /** Liveness is watched on the node holding the socket. */
  alive = true;
  #closed = false;

  constructor(
    readonly remoteAddress: string,
    private readonly hooks: ForwardingHooks,
  ) {}

  get closed(): boolean {
    return this.#closed;
  }

  send(message: PsOutbound | Record<string, unknown>): void {
    if (!this.#closed) {
      this.hooks.forward({ ...message });
    }
  }

  close(code?: number, reason?: string): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.hooks.closed(code, reason);
  }

  terminate(): void {
    this.close();
  }

  /** The other side ended it already: closed here without telling it back. */
  drop(): void {
    this.#closed = true;
  }
}
