import { AppError } from '../shared/app-error.js';
import type { Clock, TimerHandle } from '../shared/clock.js';
import type { NodeId } from './bus.js';

/** Which path a request took: the target's Redis inbox, a direct link, or held for the link (see `LinkRouter`). */
export type Via = 'inbox' | 'link' | 'held';

interface Pending {
  to: NodeId;
  via: Via;
  /** The deadline's slot (see #slots) and the message of its TIMEOUT. */
  slot: number;
  timeoutMs: number;
  resolve: (value: unknown) => void;
  reject: (err: AppError) => void;
}

/**
 * Deadlines are kept in slots of this many milliseconds, one timer per slot instead of one per
 * request (a relay a few microseconds cheaper); a request times out at its deadline rounded up
 * to the slot, at most this much late.
 */
const SLOT_MS = 20;

/** Requests in flight to other nodes, by request id; each one settles exactly once. */
export class PendingRequests {
  readonly #clock: Clock;
  readonly #pending = new Map<string, Pending>();
  /** Requests by deadline slot, and the slot's timer. */
  readonly #slots = new Map<number, { ids: Set<string>; timer: TimerHandle }>();
  /** Requests in flight through each node's inbox, so that a switch to its link can wait for them. */
  readonly #inbox = new Map<NodeId, number>();
  #next = 0;
  /** Told when the last request in flight through `to`'s inbox settled. */
  onInboxDrained: (to: NodeId) => void = () => undefined;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get size(): number {
    return this.#pending.size;
  }

  /** A fresh request id and the promise its reply (or TIMEOUT after `timeoutMs`) settles. */
  open(to: NodeId, timeoutMs: number, via: Via = 'inbox'): { id: string; reply: Promise<unknown> } {
    const id = String(++this.#next);
    const slot = Math.ceil((this.#clock.now() + timeoutMs) / SLOT_MS);
    const reply = new Promise<unknown>((resolve, reject) => {
      this.#pending.set(id, { to, via, slot, timeoutMs, resolve, reject });
    });
    let entry = this.#slots.get(slot);
    if (!entry) {
      const timer = this.#clock.setTimeout(() => this.#expire(slot), slot * SLOT_MS - this.#clock.now());
      entry = { ids: new Set(), timer };
      this.#slots.set(slot, entry);
    }
    entry.ids.add(id);
    this.#count(to, via, 1);
    return { id, reply };
  }

  #expire(slot: number): void {
    const entry = this.#slots.get(slot);
    this.#slots.delete(slot);
    for (const id of entry?.ids ?? []) {
      const p = this.#pending.get(id);
      if (p) {
        this.fail(id, new AppError('TIMEOUT', `Node ${p.to} did not answer within ${p.timeoutMs} ms`));
      }
    }
  }

  /** Whether request `id` still waits (a held one may have timed out meanwhile). */
  has(id: string): boolean {
    return this.#pending.has(id);
  }

  /** Inbox requests in flight to `to`. */
  inboxInFlight(to: NodeId): number {
    return this.#inbox.get(to) ?? 0;
  }

  /** Records the path a held request finally took. */
  setVia(id: string, via: Via): void {
    const p = this.#pending.get(id);
    if (p && p.via !== via) {
      this.#count(p.to, p.via, -1);
      p.via = via;
      this.#count(p.to, via, 1);
    }
  }

  resolve(id: string, value: unknown): void {
    this.#take(id)?.resolve(value);
  }

  /** Settles request `id` only if it went to `from` (an answer from another node is ignored). */
  resolveFrom(from: NodeId, id: string, value: unknown): void {
    if (this.#pending.get(id)?.to === from) {
      this.resolve(id, value);
    }
  }

  fail(id: string, err: AppError): void {
    this.#take(id)?.reject(err);
  }

  failFrom(from: NodeId, id: string, err: AppError): void {
    if (this.#pending.get(id)?.to === from) {
      this.fail(id, err);
    }
  }

  /** Fails every request waiting on `to` (the node was lost), or only those that took one path. */
  failNode(to: NodeId, err: AppError, via?: Via): void {
    for (const [id, p] of this.#pending) {
      if (p.to === to && (via === undefined || p.via === via)) {
        this.fail(id, err);
      }
    }
  }

  failAll(err: AppError): void {
    for (const id of [...this.#pending.keys()]) {
      this.fail(id, err);
    }
  }

  #take(id: string): Pending | undefined {
    const p = this.#pending.get(id);
    if (p) {
      this.#pending.delete(id);
      const entry = this.#slots.get(p.slot);
      if (entry?.ids.delete(id) && entry.ids.size === 0) {
        this.#clock.clearTimeout(entry.timer);
        this.#slots.delete(p.slot);
      }
      this.#count(p.to, p.via, -1);
    }
    return p;
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
