import { RequestTracker, type Clock } from '@heliograph/common';
import { AppError } from '../shared/app-error.js';
import type { NodeId } from './bus.js';

/** Which path a request took: the target's Redis inbox, a direct link, or held for the link (see `LinkRouter`). */
export type Via = 'inbox' | 'link' | 'held';

/** Where a request went; `via` changes when a held request is finally sent. */
interface Route {
  to: NodeId;
  via: Via;
}

/**
 * Deadlines are kept in slots of this many milliseconds, one timer per slot instead of one per
 * request (a relay a few microseconds cheaper); a request times out at its deadline rounded up
 * to the slot, at most this much late.
 */
const SLOT_MS = 20;

/**
 * Requests in flight to other nodes, by request id (on the wire, the tracker's id as a string);
 * each one settles exactly once. On top of the shared `RequestTracker`: which node each request
 * went to and by which path, so that an answer from another node is ignored, a lost node's
 * requests fail, and a switch to a direct link can wait for the inbox to drain.
 */
export class PendingRequests {
  readonly #requests: RequestTracker<Route>;
  /** Requests in flight through each node's inbox, so that a switch to its link can wait for them. */
  readonly #inbox = new Map<NodeId, number>();
  /** Told when the last request in flight through `to`'s inbox settled. */
  onInboxDrained: (to: NodeId) => void = () => undefined;

  constructor(clock: Clock) {
    this.#requests = new RequestTracker<Route>({
      clock,
      slotMs: SLOT_MS,
      timeoutError: (route, timeoutMs) => new AppError('TIMEOUT', `Node ${route.to} did not answer within ${timeoutMs} ms`),
      onSettled: (route) => this.#count(route.to, route.via, -1),
    });
  }

  get size(): number {
    return this.#requests.size;
  }

  /** A fresh request id and the promise its reply (or TIMEOUT after `timeoutMs`) settles. */
  open(to: NodeId, timeoutMs: number, via: Via = 'inbox'): { id: string; reply: Promise<unknown> } {
    const { id, result } = this.#requests.open(timeoutMs, () => ({ to, via }));
    this.#count(to, via, 1);
    return { id: String(id), reply: result };
  }

  /** Whether request `id` still waits (a held one may have timed out meanwhile). */
  has(id: string): boolean {
    return this.#requests.has(key(id));
  }

  inboxInFlight(to: NodeId): number {
    return this.#inbox.get(to) ?? 0;
  }

  /** Records the path a held request finally took. */
  setVia(id: string, via: Via): void {
    const route = this.#requests.meta(key(id));
    if (route && route.via !== via) {
      this.#count(route.to, route.via, -1);
      route.via = via;
      this.#count(route.to, via, 1);
    }
  }

  resolve(id: string, value: unknown): void {
    this.#requests.resolve(key(id), value);
  }

  /** Settles request `id` only if it went to `from` (an answer from another node is ignored). */
  resolveFrom(from: NodeId, id: string, value: unknown): void {
    if (this.#requests.meta(key(id))?.to === from) {
      this.resolve(id, value);
    }
  }

  fail(id: string, err: AppError): void {
    this.#requests.reject(key(id), err);
  }

  failFrom(from: NodeId, id: string, err: AppError): void {
    if (this.#requests.meta(key(id))?.to === from) {
      this.fail(id, err);
    }
  }

  /** Fails every request waiting on `to` (the node was lost), or only those that took one path. */
  failNode(to: NodeId, err: AppError, via?: Via): void {
    this.#requests.rejectAll(err, (route) => route.to === to && (via === undefined || route.via === via));
  }

  failAll(err: AppError): void {
    this.#requests.rejectAll(err);
  }

  #count(to: NodeId, via: Via, delta: number): void {
    if (via !== 'inbox') {
      return;
    }
    const n = (this.#inbox.get(to) ?? 0) + delta;
    if (n > 0) {
      this.#inbox.set(to, n);
      return;
    }
    this.#inbox.delete(to);
    if (delta < 0) {
      this.onInboxDrained(to);
    }
  }
}

/** The tracker's id for a wire id; 0 (never an id) unless it is one the tracker could have made. */
function key(id: string): number {
  const n = Number(id);
  return String(n) === id ? n : 0;
}
