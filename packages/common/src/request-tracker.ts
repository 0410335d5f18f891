import type { Clock, TimerHandle } from './clock.js';

export interface RequestTrackerOptions<Meta> {
  clock: Clock;
  /** The reason a request that got no answer in time is rejected with. */
  timeoutError: (meta: Meta, timeoutMs: number) => unknown;
  /**
   * Deadlines are kept in slots of this many milliseconds, one timer per slot instead of one per
   * request; a request then times out at its deadline rounded up to its slot, at most this much
   * late. 1 (the default): on time, one timer per distinct deadline.
   */
  slotMs?: number | undefined;
  /** Told of each request as it settles, however: answer, failure, timeout or close. */
  onSettled?: ((meta: Meta) => void) | undefined;
}

interface Pending<Meta> {
  meta: Meta;
  timeoutMs: number;
  /** The deadline's slot (see `slotMs`). */
  slot: number;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

/**
 * Requests in flight, by id: each one settles exactly once, by its answer, its failure, its
 * timeout (on the injected clock) or `close`. Ids count up from 1 for the life of the tracker and
 * never repeat, so a late answer can never settle a newer request. `Meta` is what the owner keeps
 * with each request (its target, the frame sent…).
 */
export class RequestTracker<Meta = undefined> {
  readonly #clock: Clock;
  readonly #timeoutError: (meta: Meta, timeoutMs: number) => unknown;
  readonly #slotMs: number;
  readonly #onSettled: ((meta: Meta) => void) | undefined;
  readonly #pending = new Map<number, Pending<Meta>>();
  /** Requests by deadline slot, and the slot's timer. */
  readonly #slots = new Map<number, { ids: Set<number>; timer: TimerHandle }>();
  #nextId = 1;
  #closed: { reason: unknown } | undefined;

  constructor(options: RequestTrackerOptions<Meta>) {
    this.#clock = options.clock;
    this.#timeoutError = options.timeoutError;
    this.#slotMs = Math.max(1, options.slotMs ?? 1);
    this.#onSettled = options.onSettled;
  }

  /** Requests still waiting. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * Registers a request: a fresh id, what to keep with it (`describe(id)`, e.g. the frame to
   * send, which carries the id) and the promise its answer settles. Once closed, the promise is
   * rejected at once with the close's reason.
   */
  open(timeoutMs: number, describe: (id: number) => Meta): { id: number; meta: Meta; result: Promise<unknown> } {
    const id = this.#nextId++;
    const meta = describe(id);
    if (this.#closed) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the reason close() was given, passed on as it is
      return { id, meta, result: Promise.reject(this.#closed.reason) };
    }
    const slot = Math.ceil((this.#clock.now() + timeoutMs) / this.#slotMs);
    const result = new Promise<unknown>((resolve, reject) => {
      this.#pending.set(id, { meta, timeoutMs, slot, resolve, reject });
    });
    let entry = this.#slots.get(slot);
    if (!entry) {
      const timer = this.#clock.setTimeout(() => this.#expire(slot), slot * this.#slotMs - this.#clock.now());
      entry = { ids: new Set(), timer };
      this.#slots.set(slot, entry);
    }
    entry.ids.add(id);
    return { id, meta, result };
  }

  /** Whether request `id` still waits. */
  has(id: number): boolean {
    return this.#pending.has(id);
  }

  /** What was kept with request `id` while it waits. */
  meta(id: number): Meta | undefined {
    return this.#pending.get(id)?.meta;
  }

  /** What was kept with each request still waiting, oldest first. */
  metas(): Meta[] {
    return Array.from(this.#pending.values(), (p) => p.meta);
  }

  /** Settles request `id` with its answer; false if it no longer waits (a duplicate or late answer). */
  resolve(id: number, value: unknown): boolean {
    const p = this.#take(id);
    p?.resolve(value);
    return p !== undefined;
  }

  /** Rejects request `id`; false if it no longer waits. */
  reject(id: number, reason: unknown): boolean {
    const p = this.#take(id);
    p?.reject(reason);
    return p !== undefined;
  }

  /** Rejects every request still waiting, or only those whose `meta` matches; the tracker goes on. */
  rejectAll(reason: unknown, matches?: (meta: Meta) => boolean): void {
    // A copy: an `onSettled` listener may open new requests, which this must not reject.
    for (const [id, p] of [...this.#pending]) {
      if (!matches || matches(p.meta)) {
        this.reject(id, reason);
      }
    }
  }

  /** Rejects every request still waiting and every later one. Idempotent. */
  close(reason: unknown): void {
    if (!this.#closed) {
      this.#closed = { reason };
      this.rejectAll(reason);
    }
  }

  #expire(slot: number): void {
    const entry = this.#slots.get(slot);
    this.#slots.delete(slot);
    for (const id of entry?.ids ?? []) {
      const p = this.#pending.get(id);
      if (p) {
        this.reject(id, this.#timeoutError(p.meta, p.timeoutMs));
      }
    }
  }

  #take(id: number): Pending<Meta> | undefined {
    const p = this.#pending.get(id);
    if (!p) {
      return undefined;
    }
    this.#pending.delete(id);
    const entry = this.#slots.get(p.slot);
    if (entry?.ids.delete(id) && entry.ids.size === 0) {
      this.#clock.clearTimeout(entry.timer);
      this.#slots.delete(p.slot);
    }
    this.#onSettled?.(p.meta);
    return p;
  }
}
