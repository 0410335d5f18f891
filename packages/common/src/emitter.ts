import { host } from './host.js';

/**
 * The arguments of one event: none, one or two. Two at most, so that `emit` hands them on
 * without gathering them into an array: an emit allocates nothing.
 */
export type EventArgs = [unknown?, unknown?];

/** Event names to their arguments, e.g. `{ state: [ConnectionState, StateDetail]; ended: [] }`. */
export type EventMap<E> = { [K in keyof E]: EventArgs };

/** A map of events that each carry one payload, as an `EventMap`: `{ joined: { peer } }` → `{ joined: [{ peer }] }`. */
export type PayloadEvents<M> = { [K in keyof M]: [M[K]] };

export type EventListener<A extends EventArgs> = (...args: A) => void;

/** Where the error of a listener goes, with the event it was listening to. */
export type ListenerErrorReporter<E> = (err: unknown, event: keyof E, args: E[keyof E]) => void;

type AnyListener = (a?: unknown, b?: unknown) => void;
/** A `once` listener, which remembers the listener it wraps so that `off` finds it by that. */
type OnceListener = AnyListener & { readonly wrapped: unknown };

const reportToConsole = (err: unknown): void => host.console.error('heliograph: listener failed', err);

/**
 * A typed event emitter for browsers and Node. A listener that throws is reported to
 * `onListenerError` and never breaks the emitter, the other listeners or the code that emitted.
 *
 * Each event's listeners are an array replaced on every `on`/`off` (subscribing is rare, emitting
 * is hot), so `emit` walks a snapshot without copying it: a listener added during an emit is
 * called from the next one, and one removed during an emit is still called by it (as in Node).
 * Adding a listener that is already there does nothing.
 *
 * `emit` is protected: a class emits its own events (the SDK's client); `EventHub` is the one
 * that others emit on.
 */
export class Emitter<E extends EventMap<E>> {
  readonly #listeners = new Map<keyof E, readonly AnyListener[]>();
  onListenerError: ListenerErrorReporter<E>;

  constructor(onListenerError: ListenerErrorReporter<E> = reportToConsole) {
    this.onListenerError = onListenerError;
  }

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends keyof E>(event: K, listener: EventListener<E[K]>): () => void {
    const list = this.#listeners.get(event) ?? [];
    if (!list.includes(listener as AnyListener)) {
      this.#listeners.set(event, [...list, listener as AnyListener]);
    }
    return () => this.off(event, listener);
  }

  /** Subscribes for the next event only; returns the function that unsubscribes. */
  once<K extends keyof E>(event: K, listener: EventListener<E[K]>): () => void {
    let fired = false;
    const once = Object.assign(
      (a?: unknown, b?: unknown) => {
        // An emit from inside an earlier listener may already have called it.
        if (!fired) {
          fired = true;
          this.off(event, listener);
          (listener as AnyListener)(a, b);
        }
      },
      { wrapped: listener },
    );
    this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), once]);
    return () => this.off(event, listener);
  }

  /** Unsubscribes `listener` (added by `on` or `once`); nothing if it is not subscribed. */
  off<K extends keyof E>(event: K, listener: EventListener<E[K]>): void {
    const list = this.#listeners.get(event);
    const i = list?.findIndex((l) => l === listener || (l as Partial<OnceListener>).wrapped === listener) ?? -1;
    if (!list || i < 0) {
      return;
    }
    if (list.length === 1) {
      this.#listeners.delete(event);
    } else {
      this.#listeners.set(
        event,
        list.filter((_, j) => j !== i),
      );
    }
  }

  listenerCount(event: keyof E): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  /** The events that have listeners. */
  eventNames(): Array<keyof E> {
    return [...this.#listeners.keys()];
  }

  /** Calls the event's listeners in the order they subscribed. */
  protected emit<K extends keyof E>(event: K, ...args: E[K]): void;
  protected emit(event: keyof E, a?: unknown, b?: unknown): void {
    const list = this.#listeners.get(event);
    if (list === undefined) {
      return;
    }
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!(a, b);
      } catch (err) {
        this.#report(err, event, a, b);
      }
    }
  }

  #report(err: unknown, event: keyof E, a: unknown, b: unknown): void {
    try {
      this.onListenerError(err, event, [a, b] as unknown as E[keyof E]);
    } catch {
      // A reporter that throws must not break the emit either.
    }
  }
}

/** An emitter that others emit on: a channel of events between parts of a program. */
export class EventHub<E extends EventMap<E>> extends Emitter<E> {
  override emit<K extends keyof E>(event: K, ...args: E[K]): void;
  override emit(event: keyof E, a?: unknown, b?: unknown): void {
    // Two arguments, not a rest array: see `EventArgs`.
    (super.emit as (event: keyof E, a?: unknown, b?: unknown) => void)(event, a, b);
  }
}
