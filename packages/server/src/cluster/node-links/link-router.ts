import { Compile } from 'typebox/compile';
import { AppError } from '../../shared/app-error.js';
import type { Logger } from '../../shared/logger.js';
import type { NodeId } from '../bus.js';
import { WireError } from '../frames.js';
import type { PendingRequests } from '../pending-requests.js';
import { encodeReply, encodeRequest, Kind, type OutgoingMessage, type Reply, type RequestFrame } from './link-frames.js';
import type { NodeLinks } from './node-links.js';

export interface RouterBus {
  readonly pending: PendingRequests;
  /** Publications (room events) handed to Redis and not yet acknowledged by it. */
  publishing(): number;
  sendInbox(to: NodeId, id: string, seq: number, message: OutgoingMessage): void;
  /** Checks and answers a request that arrived (on either path); `reply` is called once. */
  answer(from: NodeId, seq: number | undefined, message: unknown, reply: (r: Reply) => void): void;
}

interface Held {
  id: string;
  seq: number;
  message: OutgoingMessage;
}

const isWireError = Compile(WireError);

/**
 * Chooses, per request, between the direct link to its node and that node's Redis inbox, so
 * that one node's requests to another reach it in the order they were made, whichever path:
 *
 * - no link up: the inbox;
 * - a link comes up while inbox requests to that node are still in flight: new requests are
 *   held (in order) until those are answered or timed out, then go on the link; a request on
 *   the link can never overtake one still on its way through Redis;
 * - the link goes down: the requests in flight on it fail UNAVAILABLE at once (their answers
 *   would have come back on it), held ones go to the inbox in order, and so do new ones.
 *
 * - while a publication of this node (a room event: `peer.joined`…) is on its way through Redis,
 *   new requests are held too, until Redis has taken it: a relay sent after a `peer.joined` does
 *   not reach the other node before it by the shorter path.
 *
 * The receiver also drops a request whose sequence number is not above the last one it took
 * from that sender (`ClusterBus`), so a request that lingered on a dead link is never handed on
 * after a later one: its sender has already been told UNAVAILABLE.
 */
export class LinkRouter {
  readonly #links: NodeLinks;
  readonly #bus: RouterBus;
  readonly #log: Logger;
  readonly #held = new Map<NodeId, Held[]>();

  constructor(links: NodeLinks, bus: RouterBus, logger: Logger) {
    this.#links = links;
    this.#bus = bus;
    this.#log = logger;
    bus.pending.onInboxDrained = (to) => this.#drained(to);
    links.setHandlers({
      onRequest: (from, request, reply) => this.#onRequest(from, request, reply),
      onReply: (from, kind, id, text) => this.#onReply(from, kind, id, text),
      onUp: (to) => this.#drained(to),
      onDown: (to, why) => this.#down(to, why),
    });
  }

  route(to: NodeId): 'link' | 'held' | 'inbox' {
    if (!this.#links.isUp(to)) {
      return 'inbox';
    }
    if (this.#held.has(to)) {
      return 'held';
    }
    if (this.#bus.pending.inboxInFlight(to) > 0 || this.#bus.publishing() > 0) {
      this.#held.set(to, []);
      return 'held';
    }
    return 'link';
  }

  /** Redis has taken every publication of this node: held requests may go. */
  published(): void {
    for (const to of [...this.#held.keys()]) {
      this.#drained(to);
    }
  }

  /** A request routed to the link: written on it, or held behind those still on their way. */
  send(to: NodeId, id: string, seq: number, message: OutgoingMessage): void {
    const held = this.#held.get(to);
    if (held) {
      held.push({ id, seq, message });
    } else {
      this.#links.send(to, encodeRequest(Number(id), seq, message));
    }
  }

  /** The inbox path to `to` is empty, publications are taken (or its link just came up): held requests go on the link. */
  #drained(to: NodeId): void {
    const held = this.#held.get(to);
    if (!held || this.#bus.pending.inboxInFlight(to) > 0 || this.#bus.publishing() > 0 || !this.#links.isUp(to)) {
      return;
    }
    this.#held.delete(to);
    for (const h of held) {
      if (this.#bus.pending.has(h.id)) {
        this.#bus.pending.setVia(h.id, 'link');
        this.send(to, h.id, h.seq, h.message);
      }
    }
  }

  #down(to: NodeId, why: string): void {
    this.#bus.pending.failNode(to, new AppError('UNAVAILABLE', `The link to node ${to} was lost (${why})`), 'link');
    const held = this.#held.get(to) ?? [];
    this.#held.delete(to);
    for (const h of held) {
      if (this.#bus.pending.has(h.id)) {
        this.#bus.pending.setVia(h.id, 'inbox');
        this.#bus.sendInbox(to, h.id, h.seq, h.message);
      }
    }
  }

  #onRequest(from: NodeId, request: RequestFrame, write: (frame: Buffer) => void): void {
    let message: unknown;
    try {
      message = JSON.parse(request.head);
    } catch {
      message = undefined;
    }
    if (request.data !== undefined && typeof message === 'object' && message !== null) {
      Object.assign(message, { data: request.data });
    }
    this.#bus.answer(from, request.seq, message, (reply) => write(encodeReply(request.id, reply)));
  }

  #onReply(from: NodeId, kind: number, id: number, text: string): void {
    const key = String(id);
    if (kind === Kind.OK_EMPTY) {
      this.#bus.pending.resolveFrom(from, key, {});
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.#log.warn({ from }, 'cluster links: an unreadable answer');
      this.#bus.pending.failFrom(from, key, new AppError('INTERNAL', `Node ${from} sent an unreadable answer`));
      return;
    }
    if (kind === Kind.OK) {
      this.#bus.pending.resolveFrom(from, key, value);
    } else if (isWireError.Check(value)) {
      this.#bus.pending.failFrom(from, key, new AppError(value.code, value.message));
    } else {
      this.#bus.pending.failFrom(from, key, new AppError('INTERNAL', `Node ${from} sent a malformed error`));
    }
  }
}
